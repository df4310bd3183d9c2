"""Retention (DESIGN §7): delete old calls, or only their content, then free the space."""

from __future__ import annotations

import sqlite3
import time

from ..interface import PruneResult
from .export_jobs import expire_files
from .removal import drop_calls, drop_content, in_transaction, reclaim_space

BATCH = 2000  # calls per transaction, so a large prune never holds the write lock for long


def prune(conn: sqlite3.Connection, older_than_ms: int, content_only: bool = False) -> PruneResult:
    """Remove what started before `older_than_ms` (UTC epoch ms, a cutoff time, not an age).

    `content_only` keeps the calls (metrics, costs) and drops bodies, text and search rows,
    setting `has_content = 0`. Export files that can hold what was removed go too
    (store/export_jobs.expire_files). Run on the writer connection.
    """
    result = PruneResult()
    if content_only:
        sql = "SELECT call_id FROM call_content WHERE call_id IN " \
              "(SELECT id FROM calls WHERE started_at < ? AND has_content = 1) LIMIT ?"
    else:
        sql = "SELECT id FROM calls WHERE started_at < ? LIMIT ?"
    while True:
        ids = [row[0] for row in conn.execute(sql, (older_than_ms, BATCH))]
        if not ids:
            break
        if content_only:
            result.contents_dropped += in_transaction(conn, drop_content, ids)
        else:
            result.calls_deleted += in_transaction(conn, drop_calls, ids)
        if len(ids) < BATCH:
            break
    result.export_files_removed = len(expire_files(conn, older_than_ms, int(time.time() * 1000),
                                                   content_only=content_only))
    if result.calls_deleted or result.contents_dropped:
        reclaim_space(conn)
    return result
