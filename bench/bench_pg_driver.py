"""PostgreSQL driver choice: the same batches of realistic entries written by COPY through psycopg 3
(text COPY, `Copy.write_row`, what store/postgres/writer.py does) and through asyncpg
(`copy_records_to_table`, binary COPY), rows/s side by side by batch size.

Entries come from bench/bench_writer.py's generator (the sample calls, 3 in 4 with content, 1 in
4 do-not-track); bodies are packed (store/bodies.py) beforehand for both, as the writer does.
Each batch is one transaction writing `calls`, `call_content` and `call_tags` into the store's own
schema (weekly partitions made up front), in a fresh database per driver and batch size. The text
search column is left out for both (its literal is made in Python, the same cost for either
driver); so is the writer's lookup of stored ids, one query either way.

Needs a server: `python -m bench.bench_pg_driver postgresql://user@host:port/db [--quick]` (or
LLMLOG_BENCH_PG_URL); the database named is used only to create and drop the bench databases.
asyncpg comes with the `bench` extra only: llmlog itself uses psycopg.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg

from llmlog.store.bodies import pack
from llmlog.store.postgres import partitions
from llmlog.store.postgres.migrations import migrate
from llmlog.store.rows import CALL_COLUMNS, CONTENT_COLUMNS, call_values, content_values

from .bench_writer import _entries, _templates

BATCH_SIZES = (100, 500, 2000)
CONTENT = ("started_at", *CONTENT_COLUMNS)
TAGS = ("call_id", "tag", "started_at")


def _rows(entries) -> list[tuple[list, list, list]]:
    calls = [call_values(e.call) for e in entries]
    content = [(e.call["started_at"], *content_values(pack(e.content))) for e in entries if e.content is not None]
    tags = [(e.call["id"], tag, e.call["started_at"]) for e in entries for tag in e.tags]
    return calls, content, tags


def _with_database(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _fresh_database(base: str, started_ats) -> str:
    name = f"llmlog_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(base, name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn, create=True, where=name)
        partitions.ensure_weeks(conn, started_ats)
    return url


def _drop_database(base: str, url: str) -> None:
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def _psycopg(url: str, batches) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        for calls, content, tags in batches:
            with conn.transaction(), conn.cursor() as cur:
                for table, columns, rows in (("calls", CALL_COLUMNS, calls), ("call_content", CONTENT, content),
                                             ("call_tags", TAGS, tags)):
                    if rows:
                        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
        return time.perf_counter() - start


async def _asyncpg(url: str, batches) -> float:
    import asyncpg  # the bench extra only

    conn = await asyncpg.connect(url)
    try:
        start = time.perf_counter()
        for calls, content, tags in batches:
            async with conn.transaction():
                for table, columns, rows in (("calls", CALL_COLUMNS, calls), ("call_content", CONTENT, content),
                                             ("call_tags", TAGS, tags)):
                    if rows:
                        await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        return time.perf_counter() - start
    finally:
        await conn.close()


def measure(base: str, quick: bool = False) -> dict:
    total = 6_000 if quick else 20_000
    templates = _templates()
    out: dict = {}
    for size in BATCH_SIZES:
        entries = _entries(templates, total)
        for e in entries:  # asyncpg's binary COPY wants floats where the column is double precision
            for key in ("duration_ms", "ttfb_ms"):
                if e.call.get(key) is not None:
                    e.call[key] = float(e.call[key])
        batches = [_rows(entries[i:i + size]) for i in range(0, total, size)]
        times = [e.call["started_at"] for e in entries]
        row = {}
        for driver in ("psycopg", "asyncpg"):
            url = _fresh_database(base, times)
            try:
                elapsed = _psycopg(url, batches) if driver == "psycopg" else asyncio.run(_asyncpg(url, batches))
            finally:
                _drop_database(base, url)
            row[driver] = total / elapsed
        out[str(size)] = row
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    base = args[0] if args else os.environ.get("LLMLOG_BENCH_PG_URL")
    if not base:
        sys.exit("usage: python -m bench.bench_pg_driver postgresql://user@host:port/db [--quick]")
    result = measure(base, "--quick" in sys.argv)
    print(f"{'batch':>6} {'psycopg rows/s':>15} {'asyncpg rows/s':>15} {'asyncpg/psycopg':>16}")
    for size, figures in result.items():
        print(f"{size:>6} {figures['psycopg']:15.0f} {figures['asyncpg']:15.0f} "
              f"{figures['asyncpg'] / figures['psycopg']:16.2f}")
