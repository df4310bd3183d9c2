"""Writer throughput: `Store.write_or_split` of realistic entries into a fresh store, by batch size,
on SQLite and (with --postgres) PostgreSQL, side by side in one run.

Entries come from `build_entry` over the sample calls (3 in 4 tracked with content, 1 in 4
do-not-track), so rows carry the bodies, stream timelines and search text a real entry does.
Each store is set up as `llmlog serve` runs it: on SQLite the writer does not checkpoint; a second
thread checkpoints every `proxy.checkpoint_task.INTERVAL_S`, and the clock stops only after its
last pass, so the figure includes moving every page into the database file.

Run: `python -m bench.bench_writer [--quick] [--postgres URL|auto]` (URL: a server where the
user may CREATE DATABASE; `auto` starts a throwaway cluster as the tests do).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from pricing.table import PriceTable
from proxy.entry import build_entry
from proxy.ids import new_call_id
from proxy.checkpoint_task import INTERVAL_S
from store.backends import open_store
from store.rows import Entry

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


def _checkpoint_until(location: str, done: threading.Event) -> None:
    store = open_store(location)
    while not done.wait(INTERVAL_S):
        store.checkpoint()
    store.checkpoint()  # the last pass counts too
    store.close()


def measure(fresh_store: Callable[[str], Iterator[str]], quick: bool = False) -> dict:
    """Rows/s by batch size; `fresh_store(name)` is a context giving an empty store's location."""
    total = 6_000 if quick else 20_000
    templates = _templates()
    out = {}
    for size in BATCH_SIZES:
        entries = _entries(templates, total)
        with fresh_store(f"w{size}") as location:
            store = open_store(location, writer=True)
            done = threading.Event()
            checkpointer = threading.Thread(target=_checkpoint_until, args=(location, done))
            start = time.perf_counter()
            checkpointer.start()
            written = sum(store.write_or_split(entries[i:i + size])[0] for i in range(0, total, size))
            done.set()
            checkpointer.join()
            elapsed = time.perf_counter() - start
            store.close()
        out[str(size)] = {"rows": written, "rows_per_s": written / elapsed,
                          "ms_per_batch": elapsed / (total / size) * 1000}
    best = max(out, key=lambda k: out[k]["rows_per_s"])
    return {"by_batch_size": out, "best_batch_size": int(best), "best_rows_per_s": out[best]["rows_per_s"]}


@contextmanager
def sqlite_files() -> Iterator[Callable[[str], Iterator[str]]]:
    with tempfile.TemporaryDirectory(prefix="llmlog-bench-writer-") as tmp:
        @contextmanager
        def fresh(name: str) -> Iterator[str]:
            yield os.path.join(tmp, f"{name}.db")
        yield fresh


@contextmanager
def postgres_databases(server: str) -> Iterator[Callable[[str], Iterator[str]]]:
    """Fresh databases on `server` ("auto": a throwaway cluster started as the tests start theirs)."""
    from tests.postgres_server import PostgresServer, start_server
    owned = start_server() if server == "auto" else PostgresServer(server)
    try:
        @contextmanager
        def fresh(name: str) -> Iterator[str]:
            db, url = owned.create_database()
            try:
                yield url
            finally:
                owned.drop_database(db)
        yield fresh
    finally:
        owned.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL|auto", help="also measure PostgreSQL on this server")
    args = parser.parse_args()
    backends = {"sqlite": sqlite_files}
    if args.postgres:
        backends["postgresql"] = lambda: postgres_databases(args.postgres)
    for name, stores in backends.items():
        with stores() as fresh:
            result = measure(fresh, args.quick)
        for size, figures in result["by_batch_size"].items():
            print(f"{name:10} batch {size:>5}: {figures['rows_per_s']:9.0f} rows/s  ({figures['ms_per_batch']:.1f} ms/batch)")


if __name__ == "__main__":
    main()
