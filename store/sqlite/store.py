"""`SqliteStore`: the `Store` interface over one SQLite file (the zero-set-up default).

A connection keeps working on a database file that was deleted or replaced under it, and what it
writes then is lost with the old file. So before each use the path is checked (one stat) against
the file the connection opened, and a changed or missing file is reopened (created and migrated
afresh if gone), with a warning in the log; a write that raced with the removal raises
StoreReplaced, so the pipeline writes it again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..batches import BATCH_ROWS
from ..bodies import COMPRESS_FROM_BYTES
from ..claims import fail_unclaimed
from ..distributions import Distribution, Measure
from ..figures import Stats, Summary
from ..filters import LogFilter, Page
from ..interface import (
    EXPORT_CHUNK_BYTES,
    Hierarchy,
    LogPage,
    Position,
    PriceFn,
    PruneResult,
    Refused,
    StoredEvents,
    StoreError,
    StoreReplaced,
)
from ..keyring import Keyring, RekeyResult
from ..rows import CallRow, ContentRow, Entry, Preview, Row
from ..sealing import FRAME_MAGIC, frame_bytes, is_sealed_file, open_frame, refuse_search, rekeying
from . import aggregates, entries, export, export_jobs, models_seen, queries, rekey, reprice, retention
from .checkpoint import passive_checkpoint, stop_automatic_checkpoints
from .db import BUSY_TIMEOUT_MS, connect
from .erasure import delete_user
from .whole_entries import read_entries
from .writer import write_batch, write_or_split

log = logging.getLogger("llmlog.store")
T = TypeVar("T")
P = ParamSpec("P")
# The connections of one process reopen a vanished database one at a time, so only one creates
# and migrates it.
_REOPENING = threading.Lock()


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _set_aside_orphans(path: str) -> None:
    """The database file is gone: a -wal or -shm left beside it belongs to the old file and must
    not be read into a new one. Renamed, not deleted (connections still open keep using them)."""
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            aside = f"{path}{suffix}.orphaned"
            os.replace(path + suffix, aside)
            log.warning("moved %s, left by the removed database, to %s", path + suffix, aside)


class SqliteStore:
    """`writer=True` is the server's one writer: it takes its checkpoints from another thread
    (store/sqlite/checkpoint.py) and may wait `busy_timeout_ms` for a lock."""

    backend = "sqlite"

    def __init__(self, path: str, *, create: bool = True, writer: bool = False,
                 busy_timeout_ms: int | None = None, keyring: Keyring | None = None,
                 compress_from_bytes: int = COMPRESS_FROM_BYTES, export_chunk_bytes: int = EXPORT_CHUNK_BYTES):
        """`keyring`: content sealed and opened with these keys (store/sealing.py). `compress_from_bytes`
        and `export_chunk_bytes` are for tests (no setting names them)."""
        self.path = self.location = path
        self.keyring = keyring
        self.export_chunk_bytes = export_chunk_bytes
        self._compress_from_bytes = compress_from_bytes
        self._create = create
        self._writer = writer
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._claims: dict[str, int] = {}  # task -> open lock file descriptor
        self._open()  # opened now: a missing or unusable file is an error at open, not at first use

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection to the file now at the path (reopened if it was removed or replaced)."""
        if self._conn is not None and file_identity(self.path) != self._identity:
            log.warning("database %s was removed or replaced while open; its connection reopens it "
                        "(creating it afresh if it is gone)", self.path)
            self.close()
        if self._conn is None:
            return self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        with _REOPENING:
            if self._identity is not None and file_identity(self.path) is None:
                _set_aside_orphans(self.path)
            self._conn = conn = connect(self.path, create=self._create or self._identity is not None,
                                        check_same_thread=False)
            self._identity = file_identity(self.path)
        if self._busy_timeout_ms is not None and self._busy_timeout_ms != BUSY_TIMEOUT_MS:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        if self._writer:
            stop_automatic_checkpoints(conn)
        return conn

    def _verify(self) -> None:
        if file_identity(self.path) != self._identity:
            raise StoreReplaced(f"database {self.path} was removed or replaced during the write")

    def _do(self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(connection, …)`; a database that cannot be used (locked, read-only, full, not a
        database) leaves as a StoreError naming the file, so no sqlite3 type reaches the callers.
        An entry's own data error stays inside the writer, which writes around it."""
        try:
            return fn(self.conn, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise
        except sqlite3.DatabaseError as exc:  # OperationalError (locked, full, I/O) and a file that is not a database
            raise StoreError(f"database {self.path}: {exc}") from exc

    # writing
    def write_or_split(self, batch: Sequence[Entry]) -> tuple[int, Refused]:
        result = self._do(write_or_split, batch, self.write_batch)
        self._verify()
        return result

    def write_batch(self, conn: sqlite3.Connection, batch: Sequence[Entry]) -> int:
        """One transaction for the batch (the seam tests stall or fail)."""
        return write_batch(conn, batch, compress_from_bytes=self._compress_from_bytes, keyring=self.keyring)

    # reading
    def list_logs(self, f: LogFilter, page: Page) -> LogPage:
        refuse_search(f, self.keyring)
        return self._do(queries.list_logs, f, page)

    def get_log(self, call_id: str) -> tuple[CallRow, ContentRow | None] | None:
        return self._do(queries.get_log, call_id, self.keyring)

    def previews(self, ids: list[str], chars: int = 120) -> dict[str, Preview]:
        return self._do(entries.previews, ids, chars, self.keyring)

    def contents(self, ids: list[str], columns: Sequence[str]) -> dict[str, Row]:
        return self._do(entries.contents, ids, columns, self.keyring)

    def any_calls(self) -> bool:
        return self._do(lambda conn: conn.execute("SELECT 1 FROM calls LIMIT 1").fetchone()) is not None

    def summary(self, f: LogFilter) -> Summary:
        refuse_search(f, self.keyring)
        return self._do(aggregates.summary, f)

    def stats(self, f: LogFilter, group_by: str, compare_previous: bool = False) -> tuple[Stats, Stats | None]:
        refuse_search(f, self.keyring)
        return self._do(aggregates.stats, f, group_by, compare_previous)

    def distributions(self, f: LogFilter, unit: str, group_by: Sequence[str],
                      measures: Sequence[Measure]) -> list[Distribution]:
        refuse_search(f, self.keyring)
        return self._do(aggregates.distributions, f, unit, group_by, measures)

    def hierarchy(self, call_id: str) -> Hierarchy | None:
        return self._do(entries.hierarchy, call_id)

    def events(self, call_id: str) -> StoredEvents | None:
        return self._do(entries.events, call_id, self.keyring)

    def export_batch(self, f: LogFilter, after: Position | None = None, *, content: Sequence[str] = (),
                     limit: int = BATCH_ROWS) -> list[Row]:
        refuse_search(f, self.keyring)
        return self._do(export.fetch_batch, f, after, content=content, limit=limit, keyring=self.keyring)

    def count(self, f: LogFilter) -> int:
        refuse_search(f, self.keyring)
        return self._do(export.count_rows, f)

    def oldest_start(self, f: LogFilter) -> int | None:
        refuse_search(f, self.keyring)
        return self._do(export.oldest_start, f)

    def model_call_counts(self, since_ms: int | None = None) -> list[Row]:
        return self._do(models_seen.model_call_counts, since_ms)

    def read_entries(self, after: Position | None, limit: int) -> list[Entry]:
        return self._do(read_entries, after, limit)

    # changing
    def set_feedback(self, call_id: str, feedback: dict[str, Any]) -> bool:
        return self._do(entries.set_feedback, call_id, feedback)

    def delete_user(self, user_id: str) -> int:
        return self._do(delete_user, user_id)

    def prune(self, older_than_ms: int, content_only: bool = False) -> PruneResult:
        return self._do(retention.prune, older_than_ms, content_only)

    def count_repriceable(self, since_ms: int | None = None) -> int:
        return self._do(reprice.count_repriceable, since_ms)

    def reprice(self, price: PriceFn, *, since_ms: int | None = None, batch_size: int = 500,
                progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        return self._do(reprice.reprice, price, since_ms=since_ms, batch_size=batch_size, progress=progress)

    # content keys
    def content_keys(self) -> set[str]:
        return self._do(rekey.content_keys)

    def forget_keys(self, ids: Sequence[str]) -> list[str]:
        return self._do(rekey.forget_keys, ids)

    def rekey(self, *, batch_size: int = 500, progress: Callable[[int], None] | None = None,
              drop_unreadable: bool = False) -> RekeyResult:
        return self._do(rekey.rekey, rekeying(self.keyring), batch_size=batch_size,
                        compress_from_bytes=self._compress_from_bytes, progress=progress,
                        drop_unreadable=drop_unreadable)

    # export jobs
    def create_job(self, job_id: str, fmt: str, fields: list[str] | None, filters: dict[str, Any], now_ms: int,
                   options: dict[str, Any] | None = None) -> Row:
        return self._do(export_jobs.create_job, job_id, fmt, fields, filters, now_ms, options)

    def get_job(self, job_id: str) -> Row | None:
        return self._do(export_jobs.get_job, job_id)

    def list_jobs(self, limit: int = 100) -> list[Row]:
        return self._do(export_jobs.list_jobs, limit)

    def start_job(self, job_id: str, path: str, now_ms: int) -> bool:
        return self._do(export_jobs.start_job, job_id, path, now_ms)

    def finish_job(self, job_id: str, rows: int | None, error: str | None, now_ms: int, *,
                   oldest_started_at: int | None = None, holds_content: bool = True,
                   written: str | None = None) -> bool:
        """The file already is where every process using this database file looks for it."""
        recorded = self._do(export_jobs.finish_job, job_id, rows, error, now_ms,
                                          oldest_started_at=oldest_started_at, holds_content=holds_content)
        if not recorded and written is not None:  # withdrawn meanwhile: it may quote an erased user
            with suppress(FileNotFoundError):
                os.remove(written)
        return recorded

    def fail_interrupted(self, now_ms: int) -> int:
        return fail_unclaimed(self, self._do(export_jobs.running_ids),
                              lambda job_id: self._do(export_jobs.fail_interrupted, now_ms, job_id))

    def export_path(self, job_id: str, fmt: str) -> str:
        # absolute: the CLI (llmlog prune, delete-user) may remove these files from another directory
        return os.path.join(os.path.abspath(self.path) + ".exports", f"{job_id}.{fmt}")

    def read_export_chunk(self, job_id: str, index: int) -> bytes | None:
        job = self.get_job(job_id)
        if job is None or not job["path"]:
            return None
        try:
            with open(job["path"], "rb") as handle:
                if not is_sealed_file(handle.read(len(FRAME_MAGIC))):
                    handle.seek(index * self.export_chunk_bytes)
                    return handle.read(self.export_chunk_bytes)
                size = frame_bytes(self.export_chunk_bytes)  # encrypted: one frame per chunk (store/sealing.py)
                handle.seek(index * size)
                frame = handle.read(size)
        except FileNotFoundError:
            return None
        return open_frame(self.keyring, job_id, index, frame, self.export_chunk_bytes)

    # upkeep
    def try_exclusive(self, task: str) -> bool:
        """An advisory lock on `<db>.<task>.lock`: processes sharing this file take turns; the
        kernel lets go when the holder exits, however it exits."""
        if task in self._claims:
            return True
        fd = os.open(f"{self.path}.{task}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._claims[task] = fd
        return True

    def release_exclusive(self, task: str) -> None:
        fd = self._claims.pop(task, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def checkpoint(self) -> int:
        wal_pages, _copied = self._do(passive_checkpoint)
        return wal_pages

    def close(self) -> None:
        for task in list(self._claims):
            self.release_exclusive(task)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
