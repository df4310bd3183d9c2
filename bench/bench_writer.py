"""Writer throughput: `Store.write_or_split` of realistic entries into a fresh store, by batch size,
on SQLite and (with --postgres) PostgreSQL, side by side in one run.

Entries come from `build_entry` over the sample calls (3 in 4 tracked with content, 1 in 4
do-not-track), so rows carry the bodies, stream timelines and search text a real entry does; they
start one millisecond apart, each id made at its start, as a proxy taking 1,000 calls/s makes them
(copies of the samples' own few start times made each batch's id lookup on PostgreSQL read every
row stored so far: its time span covered them all).
Each store is set up as `llmlog serve` runs it: on SQLite the writer does not checkpoint; a second
thread checkpoints every `proxy.pipeline.checkpoints.INTERVAL_S`, and the clock stops only after its
last pass, so the figure includes moving every page into the database file.

Besides rows/s (wall clock, which other load on the machine lowers), each figure has the CPU time
spent per row by this process (the writer, and on SQLite the checkpointer) and, for a PostgreSQL
server on this machine, by the writer's server process: what the writer costs, less sensitive to
other load than rows/s.

Run: `python -m bench.bench_writer [--quick] [--postgres URL|auto]` (URL: a server where the
user may CREATE DATABASE; `auto` starts a throwaway cluster as the tests do).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.ids import new_call_id
from llmlog.proxy.pipeline.checkpoints import INTERVAL_S
from llmlog.proxy.pipeline.interpret import build_entry
from llmlog.store.backends import open_store
from llmlog.store.rows import Entry

from .samples import KINDS, captured

BATCH_SIZES = (100, 500, 2000, 5000)


def _templates() -> list[Entry]:
    prices = PriceTable.shipped()
    out = []
    for kind in KINDS:
        out += [build_entry(captured(kind), prices, 1 << 20)] * 3
        out.append(build_entry(captured(kind, dnt=True), prices, 1 << 20))
    return out


def _entries(templates: list[Entry], n: int) -> list[Entry]:
    entries = []
    first = int(time.time() * 1000)
    for i in range(n):
        template = templates[i % len(templates)]
        started = first + i
        call_id = new_call_id(started)
        shift = started - template.call["started_at"]
        call = {**template.call, "id": call_id, "started_at": started,
                "completed_at": template.call["completed_at"] and template.call["completed_at"] + shift}
        content = None if template.content is None else {**template.content, "call_id": call_id}
        entries.append(Entry(call=call, content=content, tags=["bench"]))
    return entries


def _server_cpu_s(store) -> Callable[[], float | None]:
    """The CPU seconds used so far by a PostgreSQL store's server process, when it runs on this
    machine and /proc shows it; otherwise None."""
    conn = getattr(store, "conn", None)
    if store.backend != "postgresql" or conn is None:
        return lambda: None
    stat = f"/proc/{conn.execute('SELECT pg_backend_pid()').fetchone()[0]}/stat"

    def used() -> float | None:
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


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
            server_cpu = _server_cpu_s(store)
            server_start = server_cpu()
            start, cpu_start = time.perf_counter(), time.process_time()
            checkpointer.start()
            written = sum(store.write_or_split(entries[i:i + size])[0] for i in range(0, total, size))
            done.set()
            checkpointer.join()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            server_end = server_cpu()
            store.close()
        out[str(size)] = {"rows": written, "rows_per_s": written / elapsed,
                          "ms_per_batch": elapsed / (total / size) * 1000,
                          "cpu_us_per_row": cpu / written * 1e6,
                          "server_cpu_us_per_row": None if server_end is None or server_start is None
                          else (server_end - server_start) / written * 1e6}
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
    from tests.fakes.postgres_server import PostgresServer, start_server
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
            server = figures["server_cpu_us_per_row"]
            print(f"{name:10} batch {size:>5}: {figures['rows_per_s']:9.0f} rows/s"
                  f"  ({figures['ms_per_batch']:.1f} ms/batch)  CPU {figures['cpu_us_per_row']:.0f} µs/row"
                  + ("" if server is None else f" + server {server:.0f}"))


if __name__ == "__main__":
    main()
