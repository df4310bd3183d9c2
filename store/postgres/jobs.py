"""The `export_jobs` table, and the finished export files kept in the database (`export_chunks`).

Replicas share no disk, so a finished file is copied into the database in EXPORT_CHUNK_BYTES
pieces (bytea) and any replica serves its download; a local scratch file is only where it is
written. A kept file has at least chunk 0 (empty for an empty file): no chunk 0 means it is gone.
Erasure and retention remove files by deleting their chunks in the same transaction that marks
their jobs failed (as store/sqlite/export_jobs.py removes the files beside a SQLite database).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from typing import Any

import psycopg

from ..interface import EXPORT_CHUNK_BYTES
from ..job_rows import EXPIRED, INTERRUPTED, JOB_COLUMNS, WITHDRAWN, WITHDRAWN_RUNNING, job_of, stored_json
from ..rows import Row
from ..sealing import FRAME_MAGIC, frame_bytes, is_sealed_file
from .queries import one

_SELECT = ", ".join(JOB_COLUMNS)


def create_job(conn: psycopg.Connection, job_id: str, fmt: str, fields: list[str] | None,
               filters: dict[str, Any], now_ms: int,
               options: dict[str, Any] | None = None) -> Row:
    conn.execute(
        "INSERT INTO export_jobs (id, created_at, status, format, fields, filters, options, updated_at) "
        "VALUES (%s, %s, 'draft', %s, %s, %s, %s, %s)",
        (job_id, now_ms, fmt, *stored_json(fields, filters, options), now_ms))
    job = get_job(conn, job_id)
    assert job is not None  # inserted just above
    return job


def get_job(conn: psycopg.Connection, job_id: str) -> Row | None:
    row = conn.execute(f"SELECT {_SELECT} FROM export_jobs WHERE id = %s", (job_id,)).fetchone()
    return None if row is None else job_of(row)


def list_jobs(conn: psycopg.Connection, limit: int = 100) -> list[Row]:
    rows = conn.execute(f"SELECT {_SELECT} FROM export_jobs ORDER BY created_at DESC, id DESC LIMIT %s", (limit,))
    return [job_of(row) for row in rows]


def start_job(conn: psycopg.Connection, job_id: str, path: str, now_ms: int) -> bool:
    """Mark the job running (from any state but running); False when it is already running. A
    file kept from an earlier run goes: the new run replaces it."""
    with conn.transaction():
        changed = conn.execute(
            "UPDATE export_jobs SET status = 'running', path = %s, rows = 0, error = NULL, updated_at = %s "
            "WHERE id = %s AND status <> 'running'", (path, now_ms, job_id)).rowcount
        if changed:
            conn.execute("DELETE FROM export_chunks WHERE job_id = %s", (job_id,))
    return changed == 1


def finish_job(conn: psycopg.Connection, job_id: str, rows: int | None, error: str | None, now_ms: int, *,
               oldest_started_at: int | None = None, holds_content: bool = True,
               written: str | None = None, chunk_bytes: int = EXPORT_CHUNK_BYTES) -> bool:
    """The outcome and the file at `written` (copied into `export_chunks` in pieces of
    `chunk_bytes`) in one transaction, so no replica sees a success without its file. The scratch
    file goes once the transaction has ended either way; after a failure it stays, for the caller
    to try again with."""
    with conn.transaction():
        recorded = conn.execute(
            "UPDATE export_jobs SET status = %s, rows = %s, error = %s, updated_at = %s, "
            "oldest_started_at = %s, holds_content = %s WHERE id = %s AND status = 'running'",
            ("failure" if error else "success", rows, error, now_ms, oldest_started_at,
             int(holds_content), job_id)).rowcount == 1
        if recorded and written is not None:
            _copy_in(conn, job_id, written, chunk_bytes)
    if written is not None:
        with suppress(FileNotFoundError):
            os.remove(written)
    return recorded


def running_ids(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT id FROM export_jobs WHERE status = 'running'")]


def fail_interrupted(conn: psycopg.Connection, now_ms: int, job_id: str, error: str = INTERRUPTED) -> int:
    return conn.execute("UPDATE export_jobs SET status = 'failure', error = %s, updated_at = %s "
                        "WHERE id = %s AND status = 'running'", (error, now_ms, job_id)).rowcount


def _fail_finished(conn: psycopg.Connection, reason: str, now_ms: int, condition: str = "true",
                   args: tuple[object, ...] = ()) -> int:
    """Mark the successful jobs matching `condition` failed and delete their kept files; returns
    how many files went. Call inside a transaction."""
    where = f"status = 'success' AND path IS NOT NULL AND {condition}"
    ids = [row[0] for row in conn.execute(
        f"UPDATE export_jobs SET status = 'failure', error = %s, updated_at = %s WHERE {where} RETURNING id",
        (reason, now_ms, *args))]
    if not ids:
        return 0
    kept: int = one(conn.execute("SELECT count(*) FROM export_chunks WHERE job_id = ANY(%s) AND chunk_index = 0",
                                 (ids,)))[0]
    conn.execute("DELETE FROM export_chunks WHERE job_id = ANY(%s)", (ids,))
    return kept


def withdraw_files(conn: psycopg.Connection, now_ms: int) -> int:
    """After a user's calls were erased: every kept export file may quote them, so each goes and
    its job fails (start it again); a running job is marked failed so its `finish_job` finds it
    withdrawn and its runner drops what it wrote. Returns the files removed."""
    with conn.transaction():
        conn.execute("UPDATE export_jobs SET status = 'failure', error = %s, updated_at = %s "
                     "WHERE status = 'running'", (WITHDRAWN_RUNNING, now_ms))
        return _fail_finished(conn, WITHDRAWN, now_ms)


def expire_files(conn: psycopg.Connection, cutoff_ms: int, now_ms: int, *, content_only: bool = False) -> int:
    """Remove the kept files that can hold calls started before `cutoff_ms` (with `content_only`,
    only those quoting content); their jobs fail. Returns the files removed."""
    condition = "coalesce(oldest_started_at, updated_at) < %s" + (
        " AND coalesce(holds_content, 1) = 1" if content_only else "")
    with conn.transaction():
        return _fail_finished(conn, EXPIRED, now_ms, condition, (cutoff_ms,))


def scratch_path(job_id: str, fmt: str) -> str:
    """Where this process writes a job's file before `finish_job` takes it into the database."""
    directory = os.path.join(tempfile.gettempdir(), "llmlog-exports")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, f"{job_id}.{fmt}")


def _copy_in(conn: psycopg.Connection, job_id: str, written: str, chunk_bytes: int) -> None:
    """Copy the file into `export_chunks`, replacing any earlier copy (inside the caller's transaction)."""
    conn.execute("DELETE FROM export_chunks WHERE job_id = %s", (job_id,))
    with open(written, "rb") as handle, conn.cursor() as cur:
        if is_sealed_file(handle.read(len(FRAME_MAGIC))):  # encrypted: one frame per chunk (store/sealing.py)
            chunk_bytes = frame_bytes(chunk_bytes)
        handle.seek(0)
        index = 0
        while True:
            data = handle.read(chunk_bytes)
            if data or index == 0:
                cur.execute("INSERT INTO export_chunks (job_id, chunk_index, data) VALUES (%s, %s, %s)",
                            (job_id, index, data))
            if len(data) < chunk_bytes:
                break
            index += 1


def read_chunk(conn: psycopg.Connection, job_id: str, index: int) -> tuple[bytes, bytes] | None:
    """(the first bytes of the kept file, its piece `index`: b"" past its end); None when no file is kept."""
    rows = conn.execute("SELECT chunk_index, data FROM export_chunks WHERE job_id = %s AND chunk_index IN (0, %s)",
                        (job_id, index)).fetchall()
    chunks = {i: bytes(data) for i, data in rows}
    if 0 not in chunks:
        return None
    return chunks[0][:len(FRAME_MAGIC)], chunks.get(index, b"")
