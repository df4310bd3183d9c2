"""`PostgresStore`: the `Store` interface on PostgreSQL, for several replicas sharing one store.

One connection per instance: a `Store` is used by one thread at a time (store/runner.py gives each
server role its own thread and store), so a pool would only hold idle connections. The connection
is autocommit; each method opens the transactions it needs. When the server goes away (restart,
failover) the broken connection is dropped and the next call connects again; while it is
unreachable every call raises (StoreError or psycopg.OperationalError), so the pipeline spills its
batches and replays them later, the writer skipping what was already stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg

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
)
from ..keyring import Keyring, RekeyResult
from ..rows import CallRow, ContentRow, Entry, Preview, Row
from ..sealing import is_sealed_file, open_frame, refuse_search, rekeying
from . import aggregates, entries, export, jobs, queries, rekey, reprice, retention, writer
from .connect import connect, describe, first_line, safe_location
from .migrations import migrate
from .partitions import lock_key
from .queries import one
from .whole_entries import read_entries

log = logging.getLogger("llmlog.store")
T = TypeVar("T")
P = ParamSpec("P")
ATTEMPTS = 3
TRANSIENT = {"40P01", "40001"}  # deadlock detected, serialization failure


class PostgresStore:
    backend = "postgresql"

    def __init__(self, url: str, *, create: bool = True, password_env: str | None = None,
                 keyring: Keyring | None = None, compress_from_bytes: int = COMPRESS_FROM_BYTES,
                 export_chunk_bytes: int = EXPORT_CHUNK_BYTES, few_matches: int = queries.FEW_MATCHES):
        """`keyring`: content sealed and opened with these keys (store/sealing.py). `compress_from_bytes`,
        `export_chunk_bytes` and `few_matches` are for tests (no setting names them)."""
        self._url = url
        self.keyring = keyring
        self.export_chunk_bytes = export_chunk_bytes
        self._compress_from_bytes = compress_from_bytes
        self._few_matches = few_matches
        self.location = safe_location(url)
        self._where = describe(url)
        self._create = create
        self._password_env = password_env
        self._conn: psycopg.Connection | None = None
        self._claims: set[str] = set()
        self._open()  # opened now: an unreachable server or a missing store is an error at open

    @property
    def conn(self) -> psycopg.Connection:
        """The open connection, made again when the last one broke."""
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            log.warning("the connection to %s was lost; connecting again", self._where)
            self._drop_connection()
        if self._conn is None:
            return self._open()
        return self._conn

    def _open(self) -> psycopg.Connection:
        conn = connect(self._url, self._password_env)
        try:
            migrate(conn, create=self._create, where=self._where)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        claimed, self._claims = self._claims, set()  # session locks end with the session
        if conn is not None:
            try:
                if claimed and not (conn.closed or conn.broken):
                    # let go now: a closed session's locks are freed only once its backend exits
                    conn.execute("SELECT pg_advisory_unlock_all()")
                conn.close()
            except psycopg.Error:
                pass

    def _do(self, fn: Callable[Concatenate[psycopg.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(connection, …)`, once more on a fresh connection when the server ended this one (a
        restart or failover shows only when a statement fails); every driver error leaves as a
        StoreError naming the database, so no psycopg type reaches the callers. Each operation
        is safe to run twice: writes skip ids already stored, the rest set values. A deadlock or
        serialization failure (another process's erasure or prune on the same rows) rolls the
        transaction back whole, so it is run again, up to ATTEMPTS times."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return fn(self.conn, *args, **kwargs)
            except psycopg.Error as exc:
                lost = self._conn is None or self._conn.closed or self._conn.broken
                if lost:
                    self._drop_connection()
                if lost and attempt == 1:
                    log.warning("the connection to %s was lost (%s); connecting again", self._where, first_line(exc))
                    continue
                if exc.sqlstate in TRANSIENT and attempt < ATTEMPTS:  # rolled back whole: run it again
                    log.info("%s on %s; trying again", first_line(exc), self._where)
                    time.sleep(0.05 * attempt)
                    continue
                raise StoreError(f"{self._where}: {first_line(exc)}") from exc
        raise AssertionError("unreachable")

    # writing
    def write_or_split(self, batch: Sequence[Entry]) -> tuple[int, Refused]:
        return self._do(writer.write_or_split, batch, self.write_batch)

    def write_batch(self, conn: psycopg.Connection, batch: Sequence[Entry]) -> int:
        """One transaction for the batch (the seam tests stall or fail)."""
        return writer.write_batch(conn, batch, compress_from_bytes=self._compress_from_bytes, keyring=self.keyring)

    # reading
    def list_logs(self, f: LogFilter, page: Page) -> LogPage:
        refuse_search(f, self.keyring)
        return self._do(queries.list_logs, f, page, few_matches=self._few_matches)

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
        return self._do(entries.model_call_counts, since_ms)

    def read_entries(self, after: Position | None, limit: int) -> list[Entry]:
        return self._do(read_entries, after, limit)

    # changing
    def set_feedback(self, call_id: str, feedback: dict[str, Any]) -> bool:
        return self._do(entries.set_feedback, call_id, feedback)

    def delete_user(self, user_id: str) -> int:
        return self._do(retention.delete_user, user_id)

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
        return self._do(jobs.create_job, job_id, fmt, fields, filters, now_ms, options)

    def get_job(self, job_id: str) -> Row | None:
        return self._do(jobs.get_job, job_id)

    def list_jobs(self, limit: int = 100) -> list[Row]:
        return self._do(jobs.list_jobs, limit)

    def start_job(self, job_id: str, path: str, now_ms: int) -> bool:
        return self._do(jobs.start_job, job_id, path, now_ms)

    def finish_job(self, job_id: str, rows: int | None, error: str | None, now_ms: int, *,
                   oldest_started_at: int | None = None, holds_content: bool = True,
                   written: str | None = None) -> bool:
        return self._do(jobs.finish_job, job_id, rows, error, now_ms, oldest_started_at=oldest_started_at,
                        holds_content=holds_content, written=written, chunk_bytes=self.export_chunk_bytes)

    def fail_interrupted(self, now_ms: int) -> int:
        return fail_unclaimed(self, self._do(jobs.running_ids),
                              lambda job_id: self._do(jobs.fail_interrupted, now_ms, job_id))

    def export_path(self, job_id: str, fmt: str) -> str:
        return jobs.scratch_path(job_id, fmt)

    def read_export_chunk(self, job_id: str, index: int) -> bytes | None:
        found = self._do(jobs.read_chunk, job_id, index)
        if found is None:
            return None
        start, piece = found
        if not is_sealed_file(start):
            return piece
        return open_frame(self.keyring, job_id, index, piece, self.export_chunk_bytes)  # a frame (store/sealing.py)

    # upkeep
    def try_exclusive(self, task: str) -> bool:
        """A session-level advisory lock on this instance's connection: replicas take turns, and
        the server lets go when the session ends, however it ends."""
        if task in self._claims:
            return True
        if self._do(lambda conn: one(conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(task),)))[0]):
            self._claims.add(task)
            return True
        return False

    def release_exclusive(self, task: str) -> None:
        if task in self._claims:
            self._claims.discard(task)
            if self._conn is not None and not (self._conn.closed or self._conn.broken):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(task),))

    def checkpoint(self) -> int:
        """PostgreSQL checkpoints by itself; there is no log for llmlog to move."""
        return 0

    def close(self) -> None:
        self._drop_connection()
