"""Reading every entry a filter matches in keyset batches, over any `Store`, so an export's memory
stays flat: each batch resumes after the last (started_at, id) seen and holds at most `BATCH_ROWS`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .filters import LogFilter
from .interface import Position, Store
from .rows import Row

BATCH_ROWS = 1000
# the content columns an export may include (a backend refuses any other name)
EXPORTABLE_CONTENT = ("prompt_text", "output_text", "request_body", "response_body",
                      "request_headers", "response_headers", "tool_calls", "citations")


def position_of(row: Row) -> Position:
    return row["started_at"], row["id"]


@dataclass(frozen=True, slots=True)
class RowWindow:
    """Which of the matching rows, oldest first: skip `offset`, then at most `limit` (None: all)."""
    offset: int = 0
    limit: int | None = None


EVERY_ROW = RowWindow()


def iter_batches(store: Store, f: LogFilter, *, content: Sequence[str] = (),
                 batch_rows: int = BATCH_ROWS, window: RowWindow = EVERY_ROW) -> Iterator[list[Row]]:
    """Every matching row in `window`, oldest first, one batch at a time. The rows before the
    window are read in batches too, without content, only to find where it starts: memory stays
    flat whatever the offset."""
    after: Position | None = None
    skip = window.offset
    while skip:
        want = min(batch_rows, skip)
        passed = store.export_batch(f, after, limit=want)
        if len(passed) < want:
            return  # fewer rows than the offset
        after, skip = position_of(passed[-1]), skip - want
    left = window.limit
    while left is None or left > 0:
        want = batch_rows if left is None else min(batch_rows, left)
        batch = store.export_batch(f, after, content=content, limit=want)
        if batch:
            yield batch
        if len(batch) < want:
            return
        after = position_of(batch[-1])
        left = None if left is None else left - want
