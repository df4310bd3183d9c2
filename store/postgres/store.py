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
from typing import Callable, Sequence

import psycopg

from ..batches import BATCH_ROWS
from ..claims import fail_unclaimed
from ..figures import Stats, Summary
from ..filters import LogFilter, Page
from ..interface import Hierarchy, LogPage, Position, PriceFn, PruneResult, Refused
from ..rows import Entry
from . import aggregates, entries, export, jobs, queries, reprice, retention, writer
from .connect import connect, describe, safe_location
from .migrations import migrate
from .partitions import lock_key
from .whole_entries import read_entries

log = logging.getLogger("llmlog.store")


class PostgresStore:
    backend = "postgresql"

    def __init__(self, url: str, *, create: bool = True, password_env: str | None = None):
        self._url = url
        self.location = safe_location(url)
        self._where = describe(url)
        self._create = create
        self._password_env = password_env
        self._conn: psycopg.Connection | None = None
        self._claims: set[str] = set()
        self.conn  # opened now: an unreachable server or a missing store is an error at open

    @property
    def conn(self) -> psycopg.Connection:
        """The open connection, made again when the last one broke."""
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            log.warning("the connection to %s was lost; connecting again", self._where)
            self._drop_connection()
        if self._conn is None:
            conn = connect(self._url, self._password_env)
            try:
                migrate(conn, create=self._create, where=self._where)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

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

    # writing
    def write_or_split(self, batch: Sequence[Entry]) -> tuple[int, Refused]:
        return writer.write_or_split(self.conn, batch, self.write_batch)

    def write_batch(self, conn: psycopg.Connection, batch: Sequence[Entry]) -> int:
        """One transaction for the batch (the seam tests stall or fail)."""
        return writer.write_batch(conn, batch)

    # reading
    def list_logs(self, f: LogFilter, page: Page) -> LogPage:
        return queries.list_logs(self.conn, f, page)

    def get_log(self, call_id: str) -> tuple[dict, dict | None] | None:
        return queries.get_log(self.conn, call_id)

    def prompt_previews(self, ids: list[str], chars: int = 120) -> dict[str, str]:
        return entries.prompt_previews(self.conn, ids, chars)

    def any_calls(self) -> bool:
        return self.conn.execute("SELECT 1 FROM calls LIMIT 1").fetchone() is not None

    def summary(self, f: LogFilter) -> Summary:
        return aggregates.summary(self.conn, f)

    def stats(self, f: LogFilter, group_by: str, compare_previous: bool = False) -> tuple[Stats, Stats | None]:
        return aggregates.stats(self.conn, f, group_by, compare_previous)

    def hierarchy(self, call_id: str) -> Hierarchy | None:
        return entries.hierarchy(self.conn, call_id)

    def events(self, call_id: str) -> tuple[bool, bool, list[list]] | None:
        return entries.events(self.conn, call_id)

    def export_batch(self, f: LogFilter, after: Position | None = None, *, content: Sequence[str] = (),
                     limit: int = BATCH_ROWS) -> list[dict]:
        return export.fetch_batch(self.conn, f, after, content=content, limit=limit)

    def count(self, f: LogFilter) -> int:
        return export.count_rows(self.conn, f)

    def oldest_start(self, f: LogFilter) -> int | None:
        return export.oldest_start(self.conn, f)

    def model_call_counts(self, since_ms: int | None = None) -> list[dict]:
        return entries.model_call_counts(self.conn, since_ms)

    def read_entries(self, after: Position | None, limit: int) -> list[Entry]:
        return read_entries(self.conn, after, limit)

    # changing
    def set_feedback(self, call_id: str, feedback: dict) -> bool:
        return entries.set_feedback(self.conn, call_id, feedback)

    def delete_user(self, user_id: str) -> int:
        return retention.delete_user(self.conn, user_id)

    def prune(self, older_than_ms: int, content_only: bool = False) -> PruneResult:
        return retention.prune(self.conn, older_than_ms, content_only)

    def count_repriceable(self, since_ms: int | None = None) -> int:
        return reprice.count_repriceable(self.conn, since_ms)

    def reprice(self, price: PriceFn, *, since_ms: int | None = None, batch_size: int = 500,
                progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        return reprice.reprice(self.conn, price, since_ms=since_ms, batch_size=batch_size, progress=progress)

    # export jobs
    def create_job(self, job_id: str, fmt: str, fields: list[str] | None, filters: dict, now_ms: int) -> dict:
        return jobs.create_job(self.conn, job_id, fmt, fields, filters, now_ms)

    def get_job(self, job_id: str) -> dict | None:
        return jobs.get_job(self.conn, job_id)

    def list_jobs(self, limit: int = 100) -> list[dict]:
        return jobs.list_jobs(self.conn, limit)

    def start_job(self, job_id: str, path: str, now_ms: int) -> bool:
        return jobs.start_job(self.conn, job_id, path, now_ms)

    def finish_job(self, job_id: str, rows: int | None, error: str | None, now_ms: int, *,
                   oldest_started_at: int | None = None, holds_content: bool = True,
                   written: str | None = None) -> bool:
        return jobs.finish_job(self.conn, job_id, rows, error, now_ms, oldest_started_at=oldest_started_at,
                               holds_content=holds_content, written=written)

    def fail_interrupted(self, now_ms: int) -> int:
        return fail_unclaimed(self, jobs.running_ids(self.conn),
                              lambda job_id: jobs.fail_interrupted(self.conn, now_ms, job_id))

    def export_path(self, job_id: str, fmt: str) -> str:
        return jobs.scratch_path(job_id, fmt)

    def read_export_chunk(self, job_id: str, index: int) -> bytes | None:
        return jobs.read_chunk(self.conn, job_id, index)

    # upkeep
    def try_exclusive(self, task: str) -> bool:
        """A session-level advisory lock on this instance's connection: replicas take turns, and
        the server lets go when the session ends, however it ends."""
        if task in self._claims:
            return True
        if self.conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(task),)).fetchone()[0]:
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
