"""Whole entries (call, content as stored, tags) in (started_at, id) order: what copying a store
to another needs. Bodies stay packed (store/bodies.py `pack` leaves packed content as it is), so
a copy neither inflates nor recompresses them."""

from __future__ import annotations

import sqlite3

from ..interface import Position
from ..rows import CALL_COLUMNS, CONTENT_COLUMNS, CallRow, ContentRow, Entry, as_call, as_content
from .id_lists import chunks, marks

_CALLS = ", ".join(CALL_COLUMNS)
_CONTENT = ", ".join(CONTENT_COLUMNS)


def read_entries(conn: sqlite3.Connection, after: Position | None, limit: int) -> list[Entry]:
    sql = f"SELECT {_CALLS} FROM calls INDEXED BY calls_started"
    args: list[object] = []
    if after is not None:
        sql += " WHERE (started_at, id) > (?, ?)"
        args += [after[0], after[1]]
    cursor = conn.execute(sql + " ORDER BY started_at, id LIMIT ?", [*args, limit])
    calls: list[CallRow] = [as_call(dict(zip(CALL_COLUMNS, row, strict=True))) for row in cursor]
    ids = [c["id"] for c in calls]
    contents: dict[str, ContentRow] = {}
    tags: dict[str, list[str]] = {}
    for chunk in chunks(ids):
        for row in conn.execute(f"SELECT {_CONTENT} FROM call_content WHERE call_id IN ({marks(chunk)})", chunk):
            contents[row[0]] = as_content(dict(zip(CONTENT_COLUMNS, row, strict=True)))
        for call_id, tag in conn.execute(
                f"SELECT call_id, tag FROM call_tags WHERE call_id IN ({marks(chunk)})", chunk):
            tags.setdefault(call_id, []).append(tag)
    return [Entry(call=c, content=contents.get(c["id"]), tags=tags.get(c["id"], [])) for c in calls]
