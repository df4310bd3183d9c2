"""A `LogFilter` as SQLite's WHERE clause. SQL is built from fixed fragments only; every user
value travels as a bound parameter."""

from __future__ import annotations

from collections.abc import Sequence

from ..filters import LogFilter

# sort name (filters.SORT_KEYS) -> SQL expression; NULLs folded so keyset cursors compare plain values
SORT_SQL = {
    "timestamp": "started_at",
    "cost": "coalesce(cost_micros, -1)",
    "latency": "coalesce(duration_ms, -1)",  # NULL sorts as one value a cursor can hold and compare
    "duration_ms": "coalesce(duration_ms, -1)",
    "tokens": "coalesce(total_tokens, 0)",
    "input_tokens": "coalesce(input_tokens, 0)",
    "output_tokens": "coalesce(output_tokens, 0)",
}
# a call's feedback score (feedback is the JSON object POST /v1/logs/{id}/feedback stored); NULL without feedback
FEEDBACK_SCORE = "json_extract(feedback, '$.score')"


def _any(column: str, values: Sequence[object], clauses: list[str], params: list[object]) -> None:
    if values:
        clauses.append(f"{column} IN ({','.join('?' * len(values))})")
        params.extend(values)


def fts_query(text: str) -> str:
    """Each word as a quoted FTS5 term, all required: user text never becomes FTS syntax."""
    words = [w for w in text.split() if w]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def where(f: LogFilter) -> tuple[str, list[object]]:
    """The WHERE clause (without the keyword; "1" when empty) and its parameters."""
    clauses: list[str] = []
    params: list[object] = []
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
    _any("flow", f.flows, clauses, params)
    _any("customer_id", f.customer_ids, clauses, params)
    _any("agent_role", f.agent_roles, clauses, params)
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
    if f.do_not_track is not None:
        clauses.append("do_not_track = ?")
        params.append(int(f.do_not_track))
    for sql, value in (
        ("cost_micros >= ?", f.min_cost_micros), ("cost_micros <= ?", f.max_cost_micros),
        ("duration_ms >= ?", f.min_duration_ms), ("duration_ms <= ?", f.max_duration_ms),
        ("total_tokens >= ?", f.min_tokens), ("total_tokens <= ?", f.max_tokens),
        (f"{FEEDBACK_SCORE} >= ?", f.min_feedback_score), (f"{FEEDBACK_SCORE} <= ?", f.max_feedback_score),
    ):
        if value is not None:
            clauses.append(sql)
            params.append(value)
    if f.has_feedback is not None:
        clauses.append("feedback IS NOT NULL" if f.has_feedback else "feedback IS NULL")
    if f.has_pii is not None:
        clauses.append("pii IS NOT NULL" if f.has_pii else "pii IS NULL")
    if f.pii_kinds:  # names checked against KINDS by the caller; bound anyway
        clauses.append(f"({' OR '.join(['json_extract(pii, ?) IS NOT NULL'] * len(f.pii_kinds))})")
        params.extend(f"$.{kind}" for kind in f.pii_kinds)
    if f.text:
        # search rows share their call's rowid (migration m006): an integer set, no join
        clauses.append("calls.rowid IN (SELECT rowid FROM call_search WHERE call_search MATCH ?)")
        params.append(fts_query(f.text))
    return (" AND ".join(clauses) or "1"), params
