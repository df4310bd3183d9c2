"""The one interface the proxy, the pipeline, the logs API and the CLI use to reach the store.

Backends (`store/sqlite/`, `store/postgres/`) implement it and own their SQL, connections and
migrations; nothing outside them holds a driver type. Methods are synchronous and run on the
caller's thread: a `Store` instance is used by one thread at a time (store/runner.py gives the
server one thread per role). Arguments are value objects (`LogFilter`, `Page`, `Entry`); answers
are plain rows (dicts keyed by column name: `CallRow` and `ContentRow` where the row is whole,
`Row` where it holds some columns) and the dataclasses below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .distributions import Distribution, Measure
from .figures import Stats, Summary
from .filters import LogFilter, Page
from .keyring import Keyring, RekeyResult
from .rows import CallNode, CallRow, ContentRow, CostColumns, Entry, Preview, Row, UsageColumns

Position = tuple[int, str]  # (started_at, id) of the last row an export has read
# a repricing function: the stored usage columns of a call -> its new cost columns
PriceFn = Callable[[UsageColumns], CostColumns]
Refused = list[tuple[Entry, str]]  # entries a backend would not take, with the reason
EXPORT_CHUNK_BYTES = 1 << 20  # an export file is read back (and, on PostgreSQL, kept) in pieces this size


class StoreError(Exception):
    """The store cannot be used; the message says why in words a person can act on."""


class StoreReplaced(StoreError):
    """What was just written went to a store that is no longer the one configured (the SQLite file
    was removed or replaced meanwhile): the caller keeps the entries and writes them again."""


@dataclass(slots=True)
class LogPage:
    total: int
    rows: list[CallRow]
    has_more: bool
    next_offset: int | None
    next_cursor: str | None
    total_counted: bool = True  # False: `total` is 0, not counted (Page.count_total was False)


@dataclass(slots=True)
class Hierarchy:
    node: CallNode
    breadcrumb: list[CallNode]  # root → this call, as far as the ancestors are logged
    parent: CallNode | None
    children: list[CallNode]
    children_total: int
    tree_calls: int
    tree_cost_nanos: int
    tree_unpriced_calls: int
    tree_max_depth: int


@dataclass(slots=True)
class StoredEvents:
    """A call's stream events as its row holds them: the chunk timeline (m003) and the body it cuts,
    or m001's parsed `events` JSON; proxy/query/stream_events.py turns either into events."""
    stream: bool
    has_content: bool
    events_json: str | None
    chunk_offsets_json: str | None
    body: bytes | None  # read only when there is a timeline to cut it


@dataclass(slots=True)
class PruneResult:
    calls_deleted: int = 0
    contents_dropped: int = 0
    export_files_removed: int = 0


class Store(Protocol):
    backend: str  # "sqlite" or "postgresql"
    location: str  # the file path or the URL without its password: safe to print
    export_chunk_bytes: int  # the size of each piece `read_export_chunk` answers but the last
    # the content keys (store/sealing.py): with one, content is sealed as it is written and opened as it
    # is read, full-text search is refused (SearchOff); None: content in clear, as before issue 21
    keyring: Keyring | None

    # -- writing (the pipeline) --
    def write_or_split(self, entries: Sequence[Entry]) -> tuple[int, Refused]:
        """Write a batch in one transaction, skipping ids already stored (a replayed spill never
        duplicates); if the store refuses the batch for its data, write entries one by one and
        return those refused. Availability errors (locked, read-only, full, unreachable) propagate.
        Raises StoreReplaced when the batch did not land where the store now is."""

    # -- reading (API and CLI) --
    def list_logs(self, f: LogFilter, page: Page) -> LogPage: ...
    def get_log(self, call_id: str) -> tuple[CallRow, ContentRow | None] | None:
        """(metrics row, content row or None), or None when no such call. UnsealError (store/sealing.py)
        when its content is sealed and cannot be opened."""
    def previews(self, ids: list[str], chars: int = 120) -> dict[str, Preview]:
        """For these ids' calls that kept content: the first `chars` characters of prompt and
        output and the stored measures of the whole texts; only those prefixes are read out (of
        texts in clear). A preview whose content cannot be opened has `content_error` instead."""
    def contents(self, ids: list[str], columns: Sequence[str]) -> dict[str, Row]:
        """The named `call_content` columns (of CONTENT_COLUMNS; bodies as sent) of those of these
        calls that kept content, by id: a page's content, read in one query rather than one per row.
        A row that cannot be opened has its content columns None and `content_error` saying why."""
    def any_calls(self) -> bool: ...
    def summary(self, f: LogFilter) -> Summary: ...
    def stats(self, f: LogFilter, group_by: str, compare_previous: bool = False) -> tuple[Stats, Stats | None]: ...
    def distributions(self, f: LogFilter, unit: str, group_by: Sequence[str],
                      measures: Sequence[Measure]) -> list[Distribution]:
        """Per group of calls or call trees ("call" | "tree") the asked figures: count, sum,
        extremes, nearest-rank percentiles, histograms, computed in the store (store/distributions.py);
        AggregateError for a unit, key or figure it does not know."""
    def hierarchy(self, call_id: str) -> Hierarchy | None: ...
    def events(self, call_id: str) -> StoredEvents | None: ...
    def export_batch(self, f: LogFilter, after: Position | None = None, *, content: Sequence[str] = (),
                     limit: int = 1000) -> list[Row]:
        """Up to `limit` matching rows after `after`, oldest first, with the asked content columns."""
    def count(self, f: LogFilter) -> int: ...
    def oldest_start(self, f: LogFilter) -> int | None: ...
    def model_call_counts(self, since_ms: int | None = None) -> list[Row]: ...
    def read_entries(self, after: Position | None, limit: int) -> list[Entry]:
        """Whole entries (call, content as stored: packed, sealed with its key_id, tags) after
        `after`, oldest first: what copying this store into another (`llmlog copy-store`) writes
        with `write_or_split`."""

    # -- changing what is stored --
    def set_feedback(self, call_id: str, feedback: dict[str, Any]) -> bool: ...
    def delete_user(self, user_id: str) -> int: ...
    def prune(self, older_than_ms: int, content_only: bool = False) -> PruneResult: ...
    def count_repriceable(self, since_ms: int | None = None) -> int: ...
    def reprice(self, price: PriceFn, *, since_ms: int | None = None, batch_size: int = 500,
                progress: Callable[[int], None] | None = None) -> tuple[int, int]: ...

    # -- content keys (store/sealing.py) --
    def content_keys(self) -> set[str]:
        """The key ids the store holds content under (a small table the writer keeps: no scan)."""
    def forget_keys(self, ids: Sequence[str]) -> list[str]:
        """Forget those of `ids` no content is sealed under any more; returns the ones forgotten."""
    def rekey(self, *, batch_size: int = 500, progress: Callable[[int], None] | None = None,
              drop_unreadable: bool = False) -> RekeyResult:
        """Seal every entry not under the keyring's newest key again (older keys, and content written
        in clear, which also leaves the search index), in short transactions; then forget the key ids
        no entry uses. Entries that cannot be opened are left as they are and named, or with
        `drop_unreadable` lose their content (kept as calls without content, like do-not-track)."""

    # -- export jobs --
    def create_job(self, job_id: str, fmt: str, fields: list[str] | None, filters: dict[str, Any],
                   now_ms: int, options: dict[str, Any] | None = None) -> Row:
        """A draft job. `options`: what else it was asked (row limit and offset, a description, a
        workspace id), kept as given and returned as the job's `options` ({} when none)."""
    def get_job(self, job_id: str) -> Row | None: ...
    def list_jobs(self, limit: int = 100) -> list[Row]: ...
    def start_job(self, job_id: str, path: str, now_ms: int) -> bool: ...
    def finish_job(self, job_id: str, rows: int | None, error: str | None, now_ms: int, *,
                   oldest_started_at: int | None = None, holds_content: bool = True,
                   written: str | None = None) -> bool:
        """Record a running job's outcome and make its finished file (at `written`, from
        `export_path`) readable by every process sharing the store, together. False when the job
        is no longer running (a user erasure withdrew it): the file is then removed, not kept."""
    def fail_interrupted(self, now_ms: int) -> int:
        """Jobs left running by a process that is gone (none holds their claim `export-<id>`, see
        `try_exclusive`) become failures; a job another replica is running is left alone."""
    def export_path(self, job_id: str, fmt: str) -> str:
        """Where this process writes a job's export file (SQLite: its final place beside the
        database file; PostgreSQL: a scratch file, taken into the database by `finish_job`)."""
    def read_export_chunk(self, job_id: str, index: int) -> bytes | None:
        """Chunk `index` (0, 1, …; `export_chunk_bytes` each; a shorter one, maybe empty, is the
        last) of a kept export file; None when the file is gone (withdrawn, expired)."""

    # -- upkeep --
    def try_exclusive(self, task: str) -> bool:
        """Claim background work (retention, an export job, reprice) for this process among all
        processes sharing the store; False when another holds it. Held until `release_exclusive`
        or until this store is closed (a process that dies lets go)."""
    def release_exclusive(self, task: str) -> None: ...
    def checkpoint(self) -> int:
        """Move what the write-ahead log holds into the main store where that applies; returns the
        log's size in pages afterwards (0 where there is none)."""
    def close(self) -> None: ...
