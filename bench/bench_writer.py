"""Writer throughput: `store.writer.write_batch` of realistic entries into a fresh SQLite file, by batch size.

Entries come from `build_entry` over the sample calls (3 in 4 tracked with content, 1 in 4
do-not-track), so rows carry the bodies, stream timelines and search text a real entry does.
The database is set up as `llmlog serve` runs it: the writer does not checkpoint; a second thread
checkpoints every `proxy.checkpoint_task.INTERVAL_S`, and the clock stops only after its last pass,
so the figure includes moving every page into the database file.
Run: `python -m bench.bench_writer [--quick]`.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import threading
import time

from pricing.table import PriceTable
from proxy.entry import build_entry
from proxy.ids import new_call_id
from proxy.checkpoint_task import INTERVAL_S
from store.sqlite.checkpoint import passive_checkpoint, stop_automatic_checkpoints
from store.sqlite.db import connect
from store.rows import Entry
from store.sqlite.writer import write_batch

from .samples import KINDS, captured

BATCH_SIZES = (100, 500, 2000)


def _templates() -> list[Entry]:
    prices = PriceTable.shipped()
    out = []
    for kind in KINDS:
        out += [build_entry(captured(kind), prices, 1 << 20)] * 3
        out.append(build_entry(captured(kind, dnt=True), prices, 1 << 20))
    return out


def _entries(templates: list[Entry], n: int) -> list[Entry]:
    entries = []
    for i in range(n):
        template = templates[i % len(templates)]
        call_id = new_call_id()
        content = None if template.content is None else {**template.content, "call_id": call_id}
        entries.append(Entry(call={**template.call, "id": call_id}, content=content, tags=["bench"]))
    return entries


def _checkpoint_until(path: str, done: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    while not done.wait(INTERVAL_S):
        passive_checkpoint(conn)
    passive_checkpoint(conn)  # the last pass counts too
    conn.close()


def measure(quick: bool = False) -> dict:
    total = 6_000 if quick else 20_000
    templates = _templates()
    out = {}
    with tempfile.TemporaryDirectory(prefix="llmlog-bench-writer-") as tmp:
        for size in BATCH_SIZES:
            entries = _entries(templates, total)
            path = os.path.join(tmp, f"w{size}.db")
            conn = connect(path)
            stop_automatic_checkpoints(conn)
            done = threading.Event()
            checkpointer = threading.Thread(target=_checkpoint_until, args=(path, done))
            start = time.perf_counter()
            checkpointer.start()
            written = sum(write_batch(conn, entries[i:i + size]) for i in range(0, total, size))
            done.set()
            checkpointer.join()
            elapsed = time.perf_counter() - start
            conn.close()
            out[str(size)] = {"rows": written, "rows_per_s": written / elapsed,
                              "ms_per_batch": elapsed / (total / size) * 1000}
    best = max(out, key=lambda k: out[k]["rows_per_s"])
    return {"by_batch_size": out, "best_batch_size": int(best), "best_rows_per_s": out[best]["rows_per_s"]}


if __name__ == "__main__":
    result = measure("--quick" in sys.argv)
    for size, figures in result["by_batch_size"].items():
        print(f"batch {size:>5}: {figures['rows_per_s']:9.0f} rows/s  ({figures['ms_per_batch']:.1f} ms/batch)")
    print(f"best: {result['best_batch_size']}")
