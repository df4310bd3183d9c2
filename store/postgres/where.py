"""A `LogFilter` as PostgreSQL's WHERE clause over `calls`. SQL is built from fixed fragments
only; every user value travels as a bound parameter (lists as one array: `= ANY(%s)`)."""

from __future__ import annotations

from ..filters import LogFilter
from . import search

# sort name (filters.SORT_KEYS) -> SQL expression; NULLs folded exactly as SQLite folds them
# (store/sqlite/where.py SORT_SQL), so a cursor holds a plain value and pages match across backends
SORT_SQL = {
    "timestamp": "calls.started_at",
    "cost": "coalesce(calls.cost_micros, -1)",
    "latency": "coalesce(calls.duration_ms, -1)",
    "duration_ms": "coalesce(calls.duration_ms, -1)",
    "tokens": "coalesce(calls.total_tokens, 0)",
    "input_tokens": "coalesce(calls.input_tokens, 0)",
    "output_tokens": "coalesce(calls.output_tokens, 0)",
}

# a call's feedback score (feedback is the JSON text POST /v1/logs/{id}/feedback stored); NULL without feedback
FEEDBACK_SCORE = "(calls.feedback::jsonb ->> 'score')::double precision"

_LISTS = (("model", "models"), ("provider", "providers"), ("status", "statuses"),
          ("user_id", "user_ids"), ("environment", "environments"), ("task_type", "task_types"),
          ("flow", "flows"), ("customer_id", "customer_ids"), ("agent_role", "agent_roles"),
          ("trace_id", "trace_ids"), ("session_id", "session_ids"), ("parent_id", "parent_ids"))
_RANGES = (("cost_micros >=", "min_cost_micros"), ("cost_micros <=", "max_cost_micros"),
           ("duration_ms >=", "min_duration_ms"), ("duration_ms <=", "max_duration_ms"),
           ("total_tokens >=", "min_tokens"), ("total_tokens <=", "max_tokens"))


def _window(table: str, f: LogFilter) -> tuple[str, list[object]]:
    """The filter's time range on a content or tag table: its rows carry their call's `started_at`,
    so the subquery reads only the weeks the range touches (without it `q=` over the last 7 days
    searched every week's content: 3.3 s for a common word at 1M entries, bench_queries)."""
    sql = ""
    params: list[object] = []
    if f.start_ms is not None:
        sql += f" AND {table}.started_at >= %s"
        params.append(f.start_ms)
    if f.end_ms is not None:
        sql += f" AND {table}.started_at < %s"
        params.append(f.end_ms)
    return sql, params


def where(f: LogFilter) -> tuple[str, list[object]]:
    """The WHERE clause (without the keyword; "true" when empty) and its parameters. Columns are
    qualified with `calls.`, so the clause holds in a join too."""
    clauses: list[str] = []
    params: list[object] = []
    if f.start_ms is not None:
        clauses.append("calls.started_at >= %s")
        params.append(f.start_ms)
    if f.end_ms is not None:
        clauses.append("calls.started_at < %s")
        params.append(f.end_ms)
    for column, name in _LISTS:
        values = getattr(f, name)
        if values:
            clauses.append(f"calls.{column} = ANY(%s)")
            params.append(list(values))
    if f.status_codes:
        clauses.append("calls.status_code = ANY(%s::integer[])")
        params.append(list(f.status_codes))
    if f.api_key_ids:
        clauses.append("(calls.api_key_hash = ANY(%s) OR calls.api_key_prefix = ANY(%s))")
        params += [list(f.api_key_ids), list(f.api_key_ids)]
    if f.tags:
        window, window_params = _window("call_tags", f)
        clauses.append("(calls.id, calls.started_at) IN "
                       f"(SELECT call_id, started_at FROM call_tags WHERE tag = ANY(%s){window})")
        params += [list(f.tags), *window_params]
    if f.root_only:
        clauses.append("calls.parent_id IS NULL")
    if f.stream is not None:
        clauses.append("calls.stream = %s")
        params.append(int(f.stream))
    if f.do_not_track is not None:
        clauses.append("calls.do_not_track = %s")
        params.append(int(f.do_not_track))
    for sql, name in _RANGES:
        value = getattr(f, name)
        if value is not None:
            clauses.append(f"calls.{sql} %s")
            params.append(value)
    for sql, value in ((f"{FEEDBACK_SCORE} >= %s", f.min_feedback_score),
                       (f"{FEEDBACK_SCORE} <= %s", f.max_feedback_score)):
        if value is not None:
            clauses.append(sql)
            params.append(value)
    if f.has_feedback is not None:
        clauses.append("calls.feedback IS NOT NULL" if f.has_feedback else "calls.feedback IS NULL")
    if f.has_pii is not None:
        clauses.append("calls.pii IS NOT NULL" if f.has_pii else "calls.pii IS NULL")
    if f.pii_kinds:
        clauses.append("calls.pii IS NOT NULL AND calls.pii::jsonb ?| %s")
        params.append(list(f.pii_kinds))
    if f.text:
        tsquery = search.query(f.text)
        if tsquery is None:  # no word to look for: FTS5 finds nothing either
            clauses.append("false")
        else:
            window, window_params = _window("call_content", f)
            clauses.append("(calls.id, calls.started_at) IN "
                           f"(SELECT call_id, started_at FROM call_content WHERE search @@ %s::tsquery{window})")
            params += [tsquery, *window_params]
    return (" AND ".join(clauses) or "true"), params
