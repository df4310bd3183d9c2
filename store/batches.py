"""Reading every entry a filter matches in keyset batches, over any `Store`, so an export's memory
stays flat: each batch resumes after the last (started_at, id) seen and holds at most `BATCH_ROWS`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .filters import LogFilter
from .interface import Position, Store
from .rows import Row

BATCH_ROWS = 1000
# the content columns an export may include (a backend refuses any other name)
EXPORTABLE_CONTENT = ("prompt_text", "output_text", "request_body", "response_body",
                      "request_headers", "response_headers", "tool_calls", "citations")


def position_of(row: Row) -> Position:
    return row["started_at"], row["id"]


def iter_batches(store: Store, f: LogFilter, *, content: Sequence[str] = (),
                 batch_rows: int = BATCH_ROWS) -> Iterator[list[Row]]:
    """Every matching row, oldest first, one batch at a time."""
    after: Position | None = None
    while True:
        batch = store.export_batch(f, after, content=content, limit=batch_rows)
        if batch:
            yield batch
        if len(batch) < batch_rows:
            return
        after = position_of(batch[-1])
