"""Retention (DESIGN §7) and per-user erasure on PostgreSQL, without leaving dead space behind.

Retention drops whole weekly partitions (store/postgres/partitions.py): every week that ends at or
before the cutoff goes as three DROP TABLEs, its disk space returned at once, with no dead rows
for VACUUM. Only the week the cutoff falls in is deleted row by row; its dead rows stay at most
until that week is dropped in turn. `content_only` drops whole weeks of `call_content` the same way
(marking those calls `has_content = 0`, an update each call gets at most once), deleting only the
cutoff's week's rows. Export files that may hold what went are removed too (jobs.expire_files).

Dropping a partition needs a short exclusive lock on its parent table; should readers hold it
longer than LOCK_TIMEOUT (a long export), that week's rows are deleted instead and the emptied
partition is dropped by a later prune.

Erasure deletes one user's rows (they are spread over every week) and then VACUUMs the partitions
they were in, so the space is reusable at once; PostgreSQL has no equivalent of SQLite's
`secure_delete`, so the bytes stay on disk until reused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
from psycopg import errors, sql

from ..interface import PruneResult
from . import jobs, partitions
from .queries import one

log = logging.getLogger("llmlog.store")
LOCK_TIMEOUT = "5s"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _drop_weeks(conn: psycopg.Connection, tables: tuple[str, ...], week: int, count_sql: str,
                extra: Callable[[psycopg.Connection], None] | None = None) -> int | None:
    """DROP the week's partitions of `tables` (after `extra(conn)`); returns the rows counted by
    `count_sql` first, or None when the lock could not be had in time."""
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            counted: int = one(conn.execute(sql.SQL(count_sql).format(
                sql.Identifier(partitions.partition_name(tables[0], week)))))[0]
            if extra is not None:
                extra(conn)
            for table in tables:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(partitions.partition_name(table, week))))
        return counted
    except errors.LockNotAvailable:
        log.info("retention: week %s is in use; its rows are deleted now, its partition dropped later", week)
        return None


def _delete_calls_before(conn: psycopg.Connection, low: int | None, cutoff: int, suffix: str = "") -> int:
    """Delete the calls (content, tags) started in [low, cutoff) row by row (`suffix` "_default":
    from the default partitions only)."""
    bounds = "started_at < %s" + (" AND started_at >= %s" if low is not None else "")
    args = (cutoff,) + ((low,) if low is not None else ())
    with conn.transaction():
        conn.execute(f"DELETE FROM call_content{suffix} WHERE {bounds}", args)
        conn.execute(f"DELETE FROM call_tags{suffix} WHERE {bounds}", args)
        return conn.execute(f"DELETE FROM calls{suffix} WHERE {bounds}", args).rowcount


def _delete_content_before(conn: psycopg.Connection, low: int | None, cutoff: int,
                           table: str = "call_content") -> int:
    bounds = "started_at < %s" + (" AND started_at >= %s" if low is not None else "")
    args = (cutoff,) + ((low,) if low is not None else ())
    with conn.transaction():
        ids = [row[0] for row in conn.execute(f"DELETE FROM {table} WHERE {bounds} RETURNING call_id", args)]
        if ids:
            conn.execute(f"UPDATE calls SET has_content = 0 WHERE {bounds} AND id = ANY(%s)", (*args, ids))
        return len(ids)


def prune(conn: psycopg.Connection, older_than_ms: int, content_only: bool = False) -> PruneResult:
    """Remove what started before `older_than_ms` (a cutoff time, UTC epoch ms)."""
    result = PruneResult()
    table = "call_content" if content_only else "calls"
    for _name, low, high in partitions.existing(conn, table):
        if low >= older_than_ms:
            break
        if high <= older_than_ms:  # the whole week is older than the cutoff
            if content_only:
                def unmark(c: psycopg.Connection, low: int = low, high: int = high) -> None:
                    c.execute("UPDATE calls SET has_content = 0 WHERE started_at >= %s AND started_at < %s "
                              "AND has_content <> 0", (low, high))
                dropped = _drop_weeks(conn, ("call_content",), low, "SELECT count(*) FROM {}", unmark)
            else:
                dropped = _drop_weeks(conn, partitions.TABLES, low, "SELECT count(*) FROM {}")
            if dropped is not None:
                if content_only:
                    result.contents_dropped += dropped
                else:
                    result.calls_deleted += dropped
                continue
        if content_only:
            result.contents_dropped += _delete_content_before(conn, low, older_than_ms)
        else:
            result.calls_deleted += _delete_calls_before(conn, low, older_than_ms)
    # rows in the default partition (a week without its own): few or none, deleted row by row
    for name in (("call_content_default",) if content_only else ("calls_default",)):
        if content_only:
            result.contents_dropped += _delete_content_before(conn, None, older_than_ms, name)
        else:
            result.calls_deleted += _delete_calls_before(conn, None, older_than_ms, "_default")
    result.export_files_removed = jobs.expire_files(conn, older_than_ms, _now_ms(), content_only=content_only)
    return result


def delete_user(conn: psycopg.Connection, user_id: str) -> int:
    """Delete every call of `user_id` with its content and tags; returns the number of calls deleted."""
    with conn.transaction():
        gone = conn.execute("DELETE FROM calls WHERE user_id = %s RETURNING id, started_at", (user_id,)).fetchall()
        if not gone:
            return 0
        ids = [row[0] for row in gone]
        low, high = min(row[1] for row in gone), max(row[1] for row in gone)
        for table in ("call_content", "call_tags"):
            conn.execute(f"DELETE FROM {table} WHERE call_id = ANY(%s) AND started_at BETWEEN %s AND %s",
                         (ids, low, high))
    jobs.withdraw_files(conn, _now_ms())  # exports written earlier may quote this user
    weeks = sorted({partitions.week_of(row[1]) for row in gone})
    for table in partitions.TABLES:
        # a week's content partition may be gone already (content retention drops whole weeks)
        present = [name for name in (partitions.partition_name(table, week) for week in weeks)
                   if one(conn.execute("SELECT to_regclass(%s)", (name,)))[0] is not None]
        if not present:
            continue
        names = [sql.Identifier(name) for name in present]
        try:
            conn.execute(sql.SQL("VACUUM {}").format(sql.SQL(", ").join(names)))
        except psycopg.Error as exc:  # the rows are gone either way; autovacuum will get to them
            log.warning("erasure: could not vacuum %s right away: %s", table, exc)
    return len(gone)
