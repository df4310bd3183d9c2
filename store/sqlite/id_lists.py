"""`IN (…)` lists of call ids, cut into statements below SQLite's bound-parameter limit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

CHUNK = 500  # ids per statement: well under SQLite's bound-parameter limit


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def marks(chunk: Sequence[object]) -> str:
    """The `?, ?, …` placeholders for one chunk."""
    return ",".join("?" * len(chunk))
