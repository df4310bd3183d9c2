"""The `export_jobs` table: an export requested now, run in the background, downloaded later.

Statuses follow Portkey's log export (draft → running → success | failure); a failed or finished
job may be started again. Times are UTC epoch ms.
"""

from __future__ import annotations

import os
import sqlite3

import orjson

INTERRUPTED = "interrupted by restart"
_COLUMNS = ("id", "created_at", "status", "format", "fields", "filters", "path", "rows", "error", "updated_at")


def _job(row: tuple | None) -> dict | None:
    if row is None:
        return None
    job = dict(zip(_COLUMNS, row))
    job["fields"] = orjson.loads(job["fields"]) if job["fields"] else None
    job["filters"] = orjson.loads(job["filters"])
    return job


def create_job(conn: sqlite3.Connection, job_id: str, fmt: str, fields: list[str] | None,
               filters: dict, now_ms: int) -> dict:
    conn.execute(
        "INSERT INTO export_jobs (id, created_at, status, format, fields, filters, updated_at) "
        "VALUES (?, ?, 'draft', ?, ?, ?, ?)",
        (job_id, now_ms, fmt, orjson.dumps(fields).decode() if fields is not None else None,
         orjson.dumps(filters).decode(), now_ms))
    return get_job(conn, job_id)


def get_job(conn: sqlite3.Connection, job_id: str) -> dict | None:
    return _job(conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM export_jobs WHERE id = ?", (job_id,)).fetchone())


def list_jobs(conn: sqlite3.Connection, limit: int = 100) -> list[dict]:
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM export_jobs ORDER BY created_at DESC, id DESC LIMIT ?",
                        (limit,))
    return [_job(row) for row in rows]


def start_job(conn: sqlite3.Connection, job_id: str, path: str, now_ms: int) -> bool:
    """Mark the job running (from any state but running); False when it is already running."""
    changed = conn.execute(
        "UPDATE export_jobs SET status = 'running', path = ?, rows = 0, error = NULL, updated_at = ? "
        "WHERE id = ? AND status != 'running'", (path, now_ms, job_id)).rowcount
    return changed == 1


def finish_job(conn: sqlite3.Connection, job_id: str, rows: int | None, error: str | None, now_ms: int) -> bool:
    """Record a running job's outcome; False when it is no longer running (a user erasure withdrew
    it meanwhile: the caller must then remove the file it wrote)."""
    return conn.execute("UPDATE export_jobs SET status = ?, rows = ?, error = ?, updated_at = ? "
                        "WHERE id = ? AND status = 'running'",
                        ("failure" if error else "success", rows, error, now_ms, job_id)).rowcount == 1


def fail_interrupted(conn: sqlite3.Connection, now_ms: int, error: str = INTERRUPTED) -> int:
    """Jobs left `running` by a process that is gone become failures (start them again to re-run)."""
    return conn.execute("UPDATE export_jobs SET status = 'failure', error = ?, updated_at = ? "
                        "WHERE status = 'running'", (error, now_ms)).rowcount


WITHDRAWN = "export file removed because a user's calls were erased; start the job again"
WITHDRAWN_RUNNING = "stopped because a user's calls were erased while it ran; start the job again"


def withdraw_files(conn: sqlite3.Connection, now_ms: int) -> list[str]:
    """Remove every finished export file (any of them may hold an erased user's calls) and mark those
    jobs failed, so they can be started again; returns the paths removed.

    A job still running may already have written the user's calls: it is marked failed too, so its
    `finish_job` finds it no longer running and its runner removes the file. This works whichever
    process erases (the server's API or `llmlog delete-user`)."""
    conn.execute("UPDATE export_jobs SET status = 'failure', error = ?, updated_at = ? WHERE status = 'running'",
                 (WITHDRAWN_RUNNING, now_ms))
    return _drop_files(conn, WITHDRAWN, now_ms)


EXPIRED = "export file removed by retention: it was written before the cutoff; start the job again"


def expire_files(conn: sqlite3.Connection, written_before_ms: int, now_ms: int) -> list[str]:
    """Remove the export files written before `written_before_ms` (a retention cutoff): a file is a
    copy of the calls as they were then, so it goes when calls of that age go. Their jobs become
    failures that can be started again; returns the paths removed."""
    return _drop_files(conn, EXPIRED, now_ms, written_before_ms)


def _drop_files(conn: sqlite3.Connection, reason: str, now_ms: int, written_before_ms: int | None = None) -> list[str]:
    where = "status = 'success' AND path IS NOT NULL" + ("" if written_before_ms is None else " AND updated_at < ?")
    args = () if written_before_ms is None else (written_before_ms,)
    paths = [row[0] for row in conn.execute(f"SELECT path FROM export_jobs WHERE {where}", args)]
    conn.execute(f"UPDATE export_jobs SET status = 'failure', error = ?, updated_at = ? WHERE {where}",
                 (reason, now_ms, *args))
    removed = []
    for path in paths:
        try:
            os.remove(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed
