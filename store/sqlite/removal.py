"""Removing entries and content for real: search rows, content, tags, calls, then the freed space.

Used by per-user erasure and by retention. Connections run with `secure_delete` on (store/sqlite/db.py),
so freed cells and pages are zeroed; `reclaim_space` then merges the FTS index (dropping deleted
terms from its segments), returns free pages to the OS and empties the WAL, where old copies of
the pages would otherwise linger.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import TypeVar, TypeVarTuple

from .id_lists import chunks, marks

T = TypeVar("T")
Args = TypeVarTuple("Args")


def drop_content(conn: sqlite3.Connection, ids: Iterable[str]) -> int:
    """Delete the search rows and content of these calls and mark them content-free.

    Call inside a transaction. Returns the number of content rows removed.
    """
    removed = 0
    for chunk in chunks(list(ids)):
        placeholders = marks(chunk)
        # the FTS rows share call_content's rowid, so they go first, while it can still be found
        conn.execute(f"DELETE FROM call_search WHERE rowid IN "
                     f"(SELECT rowid FROM call_content WHERE call_id IN ({placeholders}))", chunk)
        removed += conn.execute(f"DELETE FROM call_content WHERE call_id IN ({placeholders})", chunk).rowcount
        conn.execute(f"UPDATE calls SET has_content = 0 WHERE id IN ({placeholders})", chunk)
    return removed


def drop_calls(conn: sqlite3.Connection, ids: Iterable[str]) -> int:
    """Delete these calls with everything that hangs off them. Call inside a transaction."""
    ids = list(ids)
    drop_content(conn, ids)
    deleted = 0
    for chunk in chunks(ids):
        placeholders = marks(chunk)
        conn.execute(f"DELETE FROM call_tags WHERE call_id IN ({placeholders})", chunk)
        deleted += conn.execute(f"DELETE FROM calls WHERE id IN ({placeholders})", chunk).rowcount
    return deleted


def reclaim_space(conn: sqlite3.Connection) -> None:
    """After deletes: rewrite the FTS index, hand free pages back, truncate the WAL.

    Outside any transaction. The checkpoint waits (busy timeout) for readers to finish.
    """
    conn.execute("INSERT INTO call_search(call_search) VALUES('optimize')")
    # executescript steps the pragma to completion; execute() would step once and free one page
    conn.executescript("PRAGMA incremental_vacuum;")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection, *Args], T], *args: *Args) -> T:
    """`fn(conn, *args)` in one write transaction, rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
