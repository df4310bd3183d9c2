"""A job's row limit and offset (store/batches.py RowWindow): the rows before the window are read in
batches too, without content, so memory stays flat whatever the offset; the window's rows are exact."""

from __future__ import annotations

import pytest

from llmlog.store.batches import RowWindow, iter_batches

pytestmark = pytest.mark.sqlite_only  # pure: a list stands for the store


class ListStore:
    """`export_batch` over a list of rows, oldest first, recording each read."""

    def __init__(self, count: int):
        self.rows = [{"started_at": i, "id": f"c{i:03}"} for i in range(count)]
        self.reads: list[tuple[int, tuple[str, ...]]] = []

    def export_batch(self, f, after=None, *, content=(), limit=1000):
        self.reads.append((limit, tuple(content)))
        start = 0 if after is None else next(i for i, r in enumerate(self.rows) if r["id"] == after[1]) + 1
        return self.rows[start:start + limit]


@pytest.mark.parametrize("count, window, expected", [
    (10, RowWindow(), list(range(10))),
    (10, RowWindow(limit=3), [0, 1, 2]),
    (10, RowWindow(offset=7), [7, 8, 9]),
    (10, RowWindow(offset=3, limit=4), [3, 4, 5, 6]),
    (10, RowWindow(offset=4, limit=100), list(range(4, 10))),
    (10, RowWindow(offset=10), []),
    (10, RowWindow(offset=11, limit=1), []),
    (9, RowWindow(offset=6), [6, 7, 8]),  # an offset on a batch boundary
    (0, RowWindow(offset=2, limit=2), []),
])
def test_the_window_is_exact_and_read_in_batches(count, window, expected):
    store = ListStore(count)
    batches = list(iter_batches(store, None, content=("prompt_text",), batch_rows=3, window=window))
    assert [row["started_at"] for batch in batches for row in batch] == expected
    assert all(0 < len(batch) <= 3 for batch in batches)
    assert all(limit <= 3 for limit, _ in store.reads)  # never more than a batch at once
    skipping = [content for limit, content in store.reads[:window.offset // 3]]
    assert all(content == () for content in skipping)  # the skipped rows are read without content
