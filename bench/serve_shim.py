"""`llmlog serve` with uvloop when LLMLOG_UVLOOP=1, until the serve command honours that itself.

`web.run_app` creates its loop through the installed policy, so installing uvloop's policy first
is all it takes. Run: `LLMLOG_UVLOOP=1 python -m bench.serve_shim serve --db … --upstream …`.
"""

from __future__ import annotations

from .common import maybe_uvloop

if __name__ == "__main__":
    maybe_uvloop()
    import cli

    cli.main()
