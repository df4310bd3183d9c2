"""A validated log query (filters, sort, page) and its keyset cursors: values, no SQL. Pure.

Shared by the logs API and the CLI so both answer the same question the same way; each backend
turns a `LogFilter` into its own query.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import orjson

MAX_SQL_INT = 2**62  # bigger numbers would overflow a database's 64-bit integers when bound
FAILED_STATUSES = ("error", "timeout", "client_closed")
STATUSES = ("success", *FAILED_STATUSES)

# the sorts a page may ask for; each backend maps them to its own expression (NULLs folded so a
# keyset cursor compares plain values)
SORT_KEYS = ("timestamp", "cost", "latency", "duration_ms", "tokens", "input_tokens", "output_tokens")


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
    flows: list[str] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)
    agent_roles: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    parent_ids: list[str] = field(default_factory=list)
    root_only: bool = False
    stream: bool | None = None
    do_not_track: bool | None = None  # True: calls kept without content (`x-debug: false` and the like)
    min_cost_micros: int | None = None
    max_cost_micros: int | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    text: str | None = None  # full-text search in prompt and output
    has_feedback: bool | None = None  # True: calls with feedback; False: calls without
    min_feedback_score: float | None = None  # inclusive; a call without feedback never matches
    max_feedback_score: float | None = None
    has_pii: bool | None = None  # True: calls where personal data was found; False: calls without
    pii_kinds: list[str] = field(default_factory=list)  # any of these kinds found (proxy/privacy/detect.py KINDS)


@dataclass(slots=True)
class Page:
    sort_by: str = "timestamp"
    descending: bool = True
    limit: int = 50
    offset: int = 0
    cursor: str | None = None
    # False: the store need not count the matches (LogPage.total_counted False). A next page's
    # caller has the total from the first page, and counting a common word at 1M entries takes 0.3 s.
    count_total: bool = True


class CursorError(ValueError):
    pass


def encode_cursor(sort_by: str, descending: bool, value: object, call_id: str) -> str:
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
