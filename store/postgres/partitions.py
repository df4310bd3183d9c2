"""Weekly range partitions of `calls`, `call_content` and `call_tags` on `started_at`.

Why partitions: on PostgreSQL a DELETE leaves dead rows that only VACUUM can make reusable, and a
table that retention trims daily would otherwise stay as large as its largest day ever made it
(and VACUUM FULL locks it). Dropping a partition hands its files back at once. A week per
partition (UTC, from Monday, as the stats buckets) keeps a year to 52 partitions, few enough that
a query without a time range plans quickly, while the partition a retention cutoff falls in
(deleted row by row) holds at most a week.

Partitions are made on demand by the writer for the weeks a batch touches: created as a plain
table and then ATTACHed, which takes only a SHARE UPDATE EXCLUSIVE lock on the parent, so
readers and other writers go on meanwhile (a CREATE … PARTITION OF would lock them out). Replicas
creating the same week take turns on an advisory lock and skip what exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from ..figures import BUCKETS, bucket_start

WEEK_MS = BUCKETS["week"][0]
TABLES = ("calls", "call_content", "call_tags")
PARTITION_LOCK = 0x6C6C6D6C6F6702
LOCK_TIMEOUT = "5s"  # waiting longer for the parent's lock than this: give up, the caller retries


def week_of(started_at: int) -> int:
    """The start (epoch ms) of the UTC week, from Monday, holding `started_at`."""
    return bucket_start(started_at, "week")


def partition_name(table: str, week: int) -> str:
    """`calls_w20240101`: the table and the Monday its week starts (ms for dates out of range)."""
    try:
        day = datetime.fromtimestamp(week / 1000, UTC).strftime("%Y%m%d")
    except (OverflowError, OSError, ValueError):
        day = str(week).replace("-", "m")
    return f"{table}_w{day}"


def week_of_partition(bound_expression: str) -> tuple[int, int] | None:
    """(from, to) out of pg_get_expr's 'FOR VALUES FROM (a) TO (b)'."""
    try:
        text = bound_expression.split("FROM (", 1)[1]
        low, rest = text.split(") TO (", 1)
        return int(low.strip("'")), int(rest.rstrip(")").strip("'"))
    except (IndexError, ValueError):
        return None


def existing(conn: psycopg.Connection, table: str) -> list[tuple[str, int, int]]:
    """(partition, from, to) of `table`'s partitions, oldest first."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)", (table,)).fetchall()
    out = []
    for name, bound in rows:
        span = week_of_partition(bound or "")
        if span is not None:
            out.append((name, *span))
    return sorted(out, key=lambda p: p[1])


def weeks_wanted(started_ats: Iterable[object]) -> list[tuple[str, int, str]]:
    """(table, week, partition) of every table for the weeks these times fall in."""
    weeks = sorted({week_of(t) for t in started_ats if isinstance(t, int)})
    return [(table, week, partition_name(table, week)) for week in weeks for table in TABLES]


def ensure_weeks(conn: psycopg.Connection, started_ats: Iterable[object]) -> None:
    """Make sure every table has the partitions of the weeks these times fall in. Own transaction:
    call outside any other."""
    wanted = weeks_wanted(started_ats)
    if not wanted:
        return
    missing_names = {row[0] for row in conn.execute(
        "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(quote_ident(n)) IS NULL",
        ([name for _, _, name in wanted],))}
    if not missing_names:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        for table, week, name in wanted:
            if name not in missing_names:
                continue
            # read from pg_class itself: this session's catalog cache may not have seen a table
            # another replica committed while we waited (an advisory lock does not refresh it)
            if conn.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relnamespace = "
                            "current_schema()::regnamespace", (name,)).fetchone() is not None:
                continue  # another replica made it while we waited for the lock
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                ident, sql.Identifier(table)))
            # rows of this week that went to the default partition move in first, else ATTACH refuses
            conn.execute(sql.SQL("WITH moved AS (DELETE FROM {} WHERE started_at >= %s AND started_at < %s "
                                 "RETURNING *) INSERT INTO {} SELECT * FROM moved").format(
                sql.Identifier(f"{table}_default"), ident), (week, week + WEEK_MS))
            conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(table), ident, sql.Literal(week), sql.Literal(week + WEEK_MS)))


def lock_key(task: str) -> int:
    """A signed 64-bit advisory-lock key for a task name (stable across processes and versions)."""
    return int.from_bytes(hashlib.blake2b(f"llmlog:{task}".encode(), digest_size=8).digest(), "big", signed=True)
