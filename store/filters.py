"""A validated log query (filters, sort, page) and the SQL WHERE clause it becomes. Pure.

Shared by the logs API and the CLI so both answer the same question the same way. SQL is built
from fixed fragments only; every user value travels as a bound parameter.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import orjson

MAX_SQL_INT = 2**62  # bigger numbers would overflow SQLite's 64-bit integers when bound
FAILED_STATUSES = ("error", "timeout", "client_closed")
STATUSES = ("success", *FAILED_STATUSES)

# sort name -> SQL expression; NULLs folded so keyset cursors compare plain values
SORT_KEYS = {
    "timestamp": "started_at",
    "cost": "coalesce(cost_micros, -1)",
    "latency": "coalesce(duration_ms, -1)",  # NULL sorts as one value a cursor can hold and compare
    "duration_ms": "coalesce(duration_ms, -1)",
    "tokens": "coalesce(total_tokens, 0)",
    "input_tokens": "coalesce(input_tokens, 0)",
    "output_tokens": "coalesce(output_tokens, 0)",
}


@dataclass(slots=True)
class LogFilter:
    start_ms: int | None = None  # inclusive, UTC epoch ms
    end_ms: int | None = None  # exclusive
    models: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    api_key_ids: list[str] = field(default_factory=list)  # SHA-256 hash or key prefix
    tags: list[str] = field(default_factory=list)  # any match
    environments: list[str] = field(default_factory=list)
    task_types: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    parent_ids: list[str] = field(default_factory=list)
    root_only: bool = False
    stream: bool | None = None
    min_cost_micros: int | None = None
    max_cost_micros: int | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    text: str | None = None  # full-text search in prompt and output


@dataclass(slots=True)
class Page:
    sort_by: str = "timestamp"
    descending: bool = True
    limit: int = 50
    offset: int = 0
    cursor: str | None = None


def _any(column: str, values: list, clauses: list[str], params: list) -> None:
    if values:
        clauses.append(f"{column} IN ({','.join('?' * len(values))})")
        params.extend(values)


def fts_query(text: str) -> str:
    """Each word as a quoted FTS5 term, all required: user text never becomes FTS syntax."""
    words = [w for w in text.split() if w]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def where(f: LogFilter) -> tuple[str, list]:
    """The WHERE clause (without the keyword; "1" when empty) and its parameters."""
    clauses: list[str] = []
    params: list = []
    if f.start_ms is not None:
        clauses.append("started_at >= ?")
        params.append(f.start_ms)
    if f.end_ms is not None:
        clauses.append("started_at < ?")
        params.append(f.end_ms)
    _any("model", f.models, clauses, params)
    _any("provider", f.providers, clauses, params)
    _any("status", f.statuses, clauses, params)
    _any("status_code", f.status_codes, clauses, params)
    _any("user_id", f.user_ids, clauses, params)
    _any("environment", f.environments, clauses, params)
    _any("task_type", f.task_types, clauses, params)
    _any("trace_id", f.trace_ids, clauses, params)
    _any("session_id", f.session_ids, clauses, params)
    _any("parent_id", f.parent_ids, clauses, params)
    if f.api_key_ids:
        marks = ",".join("?" * len(f.api_key_ids))
        clauses.append(f"(api_key_hash IN ({marks}) OR api_key_prefix IN ({marks}))")
        params.extend(f.api_key_ids + f.api_key_ids)
    if f.tags:
        clauses.append(f"id IN (SELECT call_id FROM call_tags WHERE tag IN ({','.join('?' * len(f.tags))}))")
        params.extend(f.tags)
    if f.root_only:
        clauses.append("parent_id IS NULL")
    if f.stream is not None:
        clauses.append("stream = ?")
        params.append(int(f.stream))
    for sql, value in (
        ("cost_micros >= ?", f.min_cost_micros), ("cost_micros <= ?", f.max_cost_micros),
        ("duration_ms >= ?", f.min_duration_ms), ("duration_ms <= ?", f.max_duration_ms),
        ("total_tokens >= ?", f.min_tokens), ("total_tokens <= ?", f.max_tokens),
    ):
        if value is not None:
            clauses.append(sql)
            params.append(value)
    if f.text:
        # search rows share their call's rowid (migration m006): an integer set, no join
        clauses.append("calls.rowid IN (SELECT rowid FROM call_search WHERE call_search MATCH ?)")
        params.append(fts_query(f.text))
    return (" AND ".join(clauses) or "1"), params


class CursorError(ValueError):
    pass


def encode_cursor(sort_by: str, descending: bool, value, call_id: str) -> str:
    raw = orjson.dumps([sort_by, descending, value, call_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort_by: str, descending: bool) -> tuple[object, str]:
    """The (sort value, id) a page starts after; the cursor must match the query's sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, desc, value, call_id = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise CursorError("cursor is not one this server issued") from None
    if key != sort_by or desc != descending or not isinstance(call_id, str):
        raise CursorError("cursor was issued for a different sort order")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > MAX_SQL_INT:
        raise CursorError("cursor is not one this server issued")
    return value, call_id
