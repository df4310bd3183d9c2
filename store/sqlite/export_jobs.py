"""The `export_jobs` table: an export requested now, run in the background, downloaded later.

Statuses follow Portkey's log export (draft → running → success | failure); a failed or finished
job may be started again. Times are UTC epoch ms.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import Any

from ..job_rows import EXPIRED, INTERRUPTED, JOB_COLUMNS, WITHDRAWN, WITHDRAWN_RUNNING, job_of, stored_json
from ..rows import Row
from .removal import in_transaction

log = logging.getLogger("llmlog.store")


def create_job(conn: sqlite3.Connection, job_id: str, fmt: str, fields: list[str] | None,
               filters: dict[str, Any], now_ms: int,
               options: dict[str, Any] | None = None) -> Row:
    conn.execute(
        "INSERT INTO export_jobs (id, created_at, status, format, fields, filters, options, updated_at) "
        "VALUES (?, ?, 'draft', ?, ?, ?, ?, ?)",
        (job_id, now_ms, fmt, *stored_json(fields, filters, options), now_ms))
    job = get_job(conn, job_id)
    assert job is not None  # inserted just above
    return job


def get_job(conn: sqlite3.Connection, job_id: str) -> Row | None:
    row = conn.execute(f"SELECT {', '.join(JOB_COLUMNS)} FROM export_jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else job_of(row)


def list_jobs(conn: sqlite3.Connection, limit: int = 100) -> list[Row]:
    rows = conn.execute(f"SELECT {', '.join(JOB_COLUMNS)} FROM export_jobs ORDER BY created_at DESC, id DESC LIMIT ?",
                        (limit,))
    return [job_of(row) for row in rows]


def start_job(conn: sqlite3.Connection, job_id: str, path: str, now_ms: int) -> bool:
    """Mark the job running (from any state but running); False when it is already running."""
    changed = conn.execute(
        "UPDATE export_jobs SET status = 'running', path = ?, rows = 0, error = NULL, updated_at = ? "
        "WHERE id = ? AND status != 'running'", (path, now_ms, job_id)).rowcount
    return changed == 1


def finish_job(conn: sqlite3.Connection, job_id: str, rows: int | None, error: str | None, now_ms: int, *,
               oldest_started_at: int | None = None, holds_content: bool = True) -> bool:
    """Record a running job's outcome; False when it is no longer running (a user erasure withdrew
    it meanwhile: the caller must then remove the file it wrote). `oldest_started_at` (the earliest
    call the file can hold) and `holds_content` tell retention when the file must go."""
    return conn.execute("UPDATE export_jobs SET status = ?, rows = ?, error = ?, updated_at = ?, "
                        "oldest_started_at = ?, holds_content = ? WHERE id = ? AND status = 'running'",
                        ("failure" if error else "success", rows, error, now_ms, oldest_started_at,
                         int(holds_content), job_id)).rowcount == 1


def running_ids(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT id FROM export_jobs WHERE status = 'running'")]


def fail_interrupted(conn: sqlite3.Connection, now_ms: int, job_id: str, error: str = INTERRUPTED) -> int:
    """A job left `running` by a process that is gone becomes a failure (start it again to re-run)."""
    return conn.execute("UPDATE export_jobs SET status = 'failure', error = ?, updated_at = ? "
                        "WHERE id = ? AND status = 'running'", (error, now_ms, job_id)).rowcount




def withdraw_files(conn: sqlite3.Connection, now_ms: int) -> list[str]:
    """Remove every finished export file (any of them may hold an erased user's calls) and mark those
    jobs failed, so they can be started again; returns the paths removed.

    A job still running may already have written the user's calls: it is marked failed too, so its
    `finish_job` finds it no longer running and its runner removes the file. This works whichever
    process erases (the server's API or `llmlog delete-user`)."""
    def withdraw(conn: sqlite3.Connection) -> list[str]:
        conn.execute("UPDATE export_jobs SET status = 'failure', error = ?, updated_at = ? WHERE status = 'running'",
                     (WITHDRAWN_RUNNING, now_ms))
        return _fail_finished(conn, WITHDRAWN, now_ms)
    return _remove(in_transaction(conn, withdraw))




def expire_files(conn: sqlite3.Connection, cutoff_ms: int, now_ms: int, *, content_only: bool = False) -> list[str]:
    """Remove the export files that can hold calls started before `cutoff_ms` (a retention cutoff):
    a file is a copy, and must not keep what retention removed from the database. With
    `content_only`, only files quoting content (bodies, headers, prompt or output text) go.
    Their jobs become failures that can be started again; returns the paths removed.
    A job finished before migration m005 counts from when it was written, as holding content."""
    condition = "coalesce(oldest_started_at, updated_at) < ?" + (
        " AND coalesce(holds_content, 1) = 1" if content_only else "")
    return _remove(in_transaction(conn, _fail_finished, EXPIRED, now_ms, condition, (cutoff_ms,)))


def _fail_finished(conn: sqlite3.Connection, reason: str, now_ms: int, condition: str = "1",
                   args: tuple[object, ...] = ()) -> list[str]:
    """Mark the successful jobs (those matching `condition`) failed; their paths, for removal after commit."""
    where = f"status = 'success' AND path IS NOT NULL AND {condition}"
    paths = [row[0] for row in conn.execute(f"SELECT path FROM export_jobs WHERE {where}", args)]
    conn.execute(f"UPDATE export_jobs SET status = 'failure', error = ?, updated_at = ? WHERE {where}",
                 (reason, now_ms, *args))
    return paths


def _remove(paths: list[str]) -> list[str]:
    removed = []
    for path in paths:
        try:
            os.remove(path)
            removed.append(path)
        except FileNotFoundError:
            if not os.path.isabs(path):  # written before paths were absolute, from another directory
                log.warning("export file %s not found from %s; remove it by hand", path, os.getcwd())
    return removed
