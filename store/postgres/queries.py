"""Reading entries: a filtered, sorted page, and one whole entry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from ..filters import LogFilter, Page, decode_cursor, encode_cursor
from ..interface import LogPage
from ..keyring import Keyring
from ..rows import CALL_COLUMNS, CONTENT_COLUMNS, CallRow, ContentRow, Row, as_call, as_content
from ..sealing import opened
from .where import SORT_SQL, where

CALL_SELECT = ", ".join(f"calls.{c}" for c in CALL_COLUMNS)
CONTENT_SELECT = ", ".join(CONTENT_COLUMNS)
# a text search matching at most this many calls is answered matches first (see list_logs)
FEW_MATCHES = 5000


def plain(value: Any) -> Any:
    """A Decimal (what PostgreSQL's sum of bigints arrives as) as the int or float SQLite gives."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def dicts(cursor: psycopg.Cursor[tuple[Any, ...]]) -> list[Row]:
    names = [d.name for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def one(cursor: psycopg.Cursor[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The row of a statement that always returns one (an aggregate, a function's value)."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.ProgrammingError("the statement returned no row")
    return row


def list_logs(conn: psycopg.Connection, f: LogFilter, page: Page, *, few_matches: int = FEW_MATCHES) -> LogPage:
    """One page of entries (metrics only, never content) and the total matching the filter. A text
    search matching at most `few_matches` calls is answered matches first."""
    clause, params = where(f)
    # a text search is counted even when the total is not asked for: the count chooses the plan
    counted = page.count_total or bool(f.text)
    total: int = one(conn.execute(f"SELECT count(*) FROM calls WHERE {clause}", params))[0] if counted else 0
    key = SORT_SQL[page.sort_by]
    direction = "DESC" if page.descending else "ASC"
    order_key = key
    if f.text and total <= few_matches:
        # `+ 0` keeps the same order but no index can give it, so the server finds the few matches
        # first and sorts them, instead of walking the index in order and probing each call's
        # content until a page is full (it expects half the calls to match: the partitioned
        # parents have no statistics, autovacuum never analyzes them). A rare word over 7 days at
        # 1M entries: 1,540 -> 2 ms (bench_queries). A common word keeps the walk: a page of
        # matches comes within its first few dozen rows.
        order_key = f"({key}) + 0"
    sql = f"SELECT {CALL_SELECT}, {key} AS _sort FROM calls WHERE {clause}"
    args = list(params)
    offset = page.offset
    if page.cursor:
        value, after_id = decode_cursor(page.cursor, page.sort_by, page.descending)
        op = "<" if page.descending else ">"
        sql += f" AND ({key} {op} %s OR ({key} = %s AND calls.id {op} %s))"
        args += [value, value, after_id]
        offset = 0
    sql += f" ORDER BY {order_key} {direction}, calls.id {direction} LIMIT %s OFFSET %s"
    args += [page.limit + 1, offset]
    rows = dicts(conn.execute(sql, args))
    has_more = len(rows) > page.limit
    rows = rows[:page.limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        value = last["_sort"]
        if page.sort_by in ("latency", "duration_ms") and last["duration_ms"] is None:
            value = -1  # SQLite's coalesce(NULL REAL, -1) is the integer -1: the same cursor from both
        next_cursor = encode_cursor(page.sort_by, page.descending, value, last["id"])
    for row in rows:
        row.pop("_sort", None)
    next_offset = (page.offset + len(rows)) if has_more and not page.cursor else None
    return LogPage(total=total, rows=[as_call(row) for row in rows], has_more=has_more, next_offset=next_offset,
                   next_cursor=next_cursor, total_counted=page.count_total)


def get_log(conn: psycopg.Connection, call_id: str, keyring: Keyring | None = None
            ) -> tuple[CallRow, ContentRow | None] | None:
    """The entry and its content (None when not kept; opened, store/sealing.py: UnsealError when it
    cannot be), or None when no such id."""
    found = dicts(conn.execute(f"SELECT {CALL_SELECT} FROM calls WHERE calls.id = %s", (call_id,)))
    if not found:
        return None
    content = dicts(conn.execute(
        f"SELECT {CONTENT_SELECT} FROM call_content WHERE call_id = %s AND started_at = %s",
        (call_id, found[0]["started_at"])))
    return as_call(found[0]), (as_content(opened(content[0], keyring, call_id)) if content else None)
