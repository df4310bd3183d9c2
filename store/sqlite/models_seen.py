"""Which models the logs have seen, with call counts (for `llmlog pricing --unpriced`)."""

from __future__ import annotations

import sqlite3

from ..rows import Row


def model_call_counts(conn: sqlite3.Connection, since_ms: int | None = None) -> list[Row]:
    """Calls per (provider, model, response_model) seen in the logs, most called first."""
    sql = "SELECT provider, model, response_model, count(*) AS calls FROM calls"
    args: list[object] = []
    if since_ms is not None:
        sql += " WHERE started_at >= ?"
        args.append(since_ms)
    sql += " GROUP BY provider, model, response_model ORDER BY calls DESC, model"
    names = ("provider", "model", "response_model", "calls")
    return [dict(zip(names, r, strict=True)) for r in conn.execute(sql, args)]
