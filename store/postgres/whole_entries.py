"""Whole entries (call, content as stored, tags) in (started_at, id) order, for copying this store
into another; bodies stay packed (store/bodies.py `pack` leaves packed content as it is)."""

from __future__ import annotations

import psycopg

from ..interface import Position
from ..rows import CONTENT_COLUMNS, Entry, as_call, as_content
from .queries import CALL_SELECT, dicts

_CONTENT = ", ".join(f"cc.{c}" for c in CONTENT_COLUMNS)


def read_entries(conn: psycopg.Connection, after: Position | None, limit: int) -> list[Entry]:
    sql = f"SELECT {CALL_SELECT} FROM calls"
    args: list[object] = []
    if after is not None:
        sql += " WHERE (calls.started_at, calls.id) > (%s, %s)"
        args += [after[0], after[1]]
    calls = [as_call(row) for row in dicts(conn.execute(sql + " ORDER BY calls.started_at, calls.id LIMIT %s",
                                                        [*args, limit]))]
    if not calls:
        return []
    ids, low, high = [c["id"] for c in calls], calls[0]["started_at"], calls[-1]["started_at"]
    contents = {row["call_id"]: as_content(row) for row in dicts(conn.execute(
        f"SELECT {_CONTENT} FROM call_content cc WHERE cc.call_id = ANY(%s) AND cc.started_at BETWEEN %s AND %s",
        (ids, low, high)))}
    tags: dict[str, list[str]] = {}
    for call_id, tag in conn.execute("SELECT call_id, tag FROM call_tags WHERE call_id = ANY(%s) "
                                     "AND started_at BETWEEN %s AND %s", (ids, low, high)):
        tags.setdefault(call_id, []).append(tag)
    return [Entry(call=c, content=contents.get(c["id"]), tags=tags.get(c["id"], [])) for c in calls]
