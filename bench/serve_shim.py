"""`llmlog serve` for the bench: with uvloop when LLMLOG_UVLOOP=1, and with logging switched off when
LLMLOG_BENCH_NO_LOGGING=1, and with LLMLOG_BENCH_READERS reader threads for the logs API (bench_page.py
compares one and two).

`web.run_app` creates its loop through the installed policy, so installing uvloop's policy first
is all it takes. Logging off means the handlers hand their captured calls to nothing: the request
path (routing, control headers, capture) is unchanged, so llmlog against llmlog-without-logging
measures what logging costs, and llmlog-without-logging against the ideal pass-through measures
the request path. Run: `LLMLOG_UVLOOP=1 python -m bench.serve_shim serve --db … --upstream …`.
"""

from __future__ import annotations

import os

from .common import maybe_uvloop


def _switch_logging_off() -> None:
    from llmlog.proxy.pipeline.worker import Pipeline

    Pipeline.submit = lambda self, call: None


if __name__ == "__main__":
    maybe_uvloop()
    if os.environ.get("LLMLOG_BENCH_NO_LOGGING") == "1":
        _switch_logging_off()
    if readers := os.environ.get("LLMLOG_BENCH_READERS"):
        import llmlog.proxy.app

        llmlog.proxy.app.READER_THREADS = int(readers)
    from llmlog import cli

    cli.main()
