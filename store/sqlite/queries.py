"""Reading entries: a filtered, sorted page, and one whole entry. Sync; callers pick the thread."""

from __future__ import annotations

import sqlite3

from ..filters import LogFilter, Page, decode_cursor, encode_cursor
from ..interface import LogPage
from ..keyring import Keyring
from ..rows import CALL_COLUMNS, CONTENT_COLUMNS, CallRow, ContentRow, Row, as_call, as_content
from ..sealing import opened
from .where import SORT_SQL, where

_CALL_SELECT = ", ".join(CALL_COLUMNS)


def _dicts(cursor: sqlite3.Cursor) -> list[Row]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def list_logs(conn: sqlite3.Connection, f: LogFilter, page: Page) -> LogPage:
    """One page of entries (metrics only, never content) and the total matching the filter."""
    clause, params = where(f)
    total: int = conn.execute(f"SELECT count(*) FROM calls WHERE {clause}", params).fetchone()[0] \
        if page.count_total else 0
    key = SORT_SQL[page.sort_by]
    direction = "DESC" if page.descending else "ASC"
    order = f"ORDER BY {key} {direction}, id {direction}"
    # The page's rowids are chosen first, then only those rows are read: when the order cannot come
    # from an index (a text search), the sort then carries a key and a rowid per match instead of
    # whole rows (`q=` on a common word at 300k entries: page 143 -> 67 ms).
    page_rows = f"SELECT calls.rowid FROM calls WHERE {clause}"
    args = list(params)
    offset = page.offset
    if page.cursor:
        value, after_id = decode_cursor(page.cursor, page.sort_by, page.descending)
        op = "<" if page.descending else ">"
        page_rows += f" AND ({key} {op} ? OR ({key} = ? AND id {op} ?))"
        args += [value, value, after_id]
        offset = 0
    page_rows += f" {order} LIMIT ? OFFSET ?"
    args += [page.limit + 1, offset]
    sql = f"SELECT {_CALL_SELECT}, {key} AS _sort FROM calls WHERE rowid IN ({page_rows}) {order}"
    rows = _dicts(conn.execute(sql, args))
    has_more = len(rows) > page.limit
    rows = rows[:page.limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(page.sort_by, page.descending, last["_sort"], last["id"])
    for row in rows:
        row.pop("_sort", None)
    next_offset = (page.offset + len(rows)) if has_more and not page.cursor else None
    return LogPage(total=total, rows=[as_call(row) for row in rows], has_more=has_more, next_offset=next_offset,
                   next_cursor=next_cursor, total_counted=page.count_total)


def get_log(conn: sqlite3.Connection, call_id: str, keyring: Keyring | None = None
            ) -> tuple[CallRow, ContentRow | None] | None:
    """The entry and its content (None when not kept; opened, store/sealing.py: UnsealError when it
    cannot be), or None when no such id."""
    found = _dicts(conn.execute(f"SELECT {_CALL_SELECT} FROM calls WHERE id = ?", (call_id,)))
    if not found:
        return None
    content = _dicts(conn.execute(
        f"SELECT {', '.join(CONTENT_COLUMNS)} FROM call_content WHERE call_id = ?", (call_id,)))
    return as_call(found[0]), (as_content(opened(content[0], keyring, call_id)) if content else None)
