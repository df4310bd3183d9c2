"""Aggregates over SQLite's `calls` table: the summary and grouped stats of the logs API (DESIGN §6).

Only `calls` (and `call_tags` for tag grouping) is read, never content. Sums are exact: tokens and
cost (integer nano-dollars) are summed in SQL; percentiles come from each group's durations and
times to first byte, fetched together in one query with the same filter (store/figures.py ranks them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ..distributions import Distribution, Measure
from ..distributions import distributions as _distributions
from ..figures import BUCKETS, Stats, Summary, Timings, rolled_up, sorted_timings, stats_asked, stats_of_rows, with_pii
from ..filters import LogFilter
from .where import FEEDBACK_SCORE, where

# A call whose cost is unknown although it should have one: it succeeded, or we know what it asked for.
# a call that used tokens of a model with no known price (a refused call with no usage cost nothing)
UNPRICED = "(priced = 0 AND coalesce(total_tokens, 0) > 0)"

# group_by name (figures.DIMENSIONS) -> SQL key expression over `calls` (tag needs a join)
DIMENSIONS = {
    "model": "model",
    "provider": "provider",
    "user": "user_id",
    "api_key": "api_key_hash",
    "status": "status",
    "tag": "t.tag",
    "environment": "environment",
    "task_type": "task_type",
    "flow": "flow",
}
# token counts llmlog estimated (tiktoken, or characters / 4) where the provider sent none
ESTIMATED = "usage_source IN ('estimated', 'rough')"
# The exact cost of a row: nano-dollars, or for a row written without them (a spill file from an
# earlier llmlog replayed) its micro-dollar figure.
COST_NANOS = "coalesce(cost_nanos, cost_micros * 1000)"

_SUMS = (
    "count(*), sum(status = 'success'), sum(status != 'success'), "
    "coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(total_tokens), 0), "
    f"coalesce(sum({COST_NANOS}), 0), sum(priced != 0), sum{UNPRICED}, coalesce(sum(duration_ms), 0), "
    f"count(duration_ms), coalesce(sum(reasoning_tokens), 0), sum({ESTIMATED})"
)
# over calls with feedback only, read through the partial index calls_feedback (m016): the sums
# above read only the covering index calls_started_sums, which has no feedback
FEEDBACK_SUMS = f"count({FEEDBACK_SCORE}), coalesce(sum({FEEDBACK_SCORE}), 0)"
RATED = "calls INDEXED BY calls_feedback"
# the calls in which personal data was found, through the partial index calls_pii (m020); a subquery,
# so json_each's columns (id, key, ...) never meet the filter's unqualified column names
PII_INDEXED = "calls INDEXED BY calls_pii"
FLAGGED = f"SELECT pii FROM {PII_INDEXED} WHERE {{}} AND pii IS NOT NULL"
# the calls with a duration or a TTFB (calls_started_sums covers both, m019)
TIMED = "(duration_ms IS NOT NULL OR ttfb_ms IS NOT NULL)"


def summary(conn: sqlite3.Connection, f: LogFilter) -> Summary:
    """Totals and breakdowns by model, provider, status, task type and feedback score for the calls `f` selects."""
    clause, params = where(f)
    rows = conn.execute(
        f"SELECT model, provider, status, task_type, {_SUMS} FROM calls WHERE {clause} GROUP BY 1, 2, 3, 4", params)
    feedback = conn.execute(
        f"SELECT model, provider, status, task_type, {FEEDBACK_SCORE}, {FEEDBACK_SUMS} FROM {RATED} "
        f"WHERE {clause} AND feedback IS NOT NULL GROUP BY 1, 2, 3, 4, 5", params)
    summed = rolled_up(rows, _sorted_timings(conn, clause, params), feedback)
    flagged = FLAGGED.format(clause)
    return with_pii(summed, conn.execute(f"SELECT count(*) FROM ({flagged})", params).fetchone(),
                    conn.execute(f"SELECT kind.key, count(*) FROM ({flagged}) p, json_each(p.pii) kind "
                                 "GROUP BY 1", params))


def _sorted_timings(conn: sqlite3.Connection, clause: str, params: list[object]) -> Timings:
    return sorted_timings(conn.execute(f"SELECT duration_ms, ttfb_ms FROM calls WHERE {clause} AND {TIMED}", params))


def _bucket_sql(width: int, offset: int) -> str:
    return f"((started_at - {offset}) / {width}) * {width} + {offset}"


def stats(conn: sqlite3.Connection, f: LogFilter, group_by: str, compare_previous: bool = False
          ) -> tuple[Stats, Stats | None]:
    """Figures per group (and in total) for the calls `f` selects, and for the period before it when
    asked (store/figures.py). With `tag`, a call counts once in each of its tags (untagged calls
    under None) and once in the totals."""
    return stats_asked(f, group_by, compare_previous, lambda window: _stats(conn, window, group_by))


def _stats(conn: sqlite3.Connection, f: LogFilter, group_by: str) -> Stats:
    clause, params = where(f)
    joined = "{} LEFT JOIN call_tags t ON t.call_id = calls.id"
    if group_by in BUCKETS:
        key_sql, source, rated, flagged = _bucket_sql(*BUCKETS[group_by]), "calls", RATED, PII_INDEXED
    elif group_by == "tag":
        key_sql, source = DIMENSIONS["tag"], joined.format("calls")
        rated, flagged = joined.format(RATED), joined.format(PII_INDEXED)
    else:
        key_sql, source, rated, flagged = DIMENSIONS[group_by], "calls", RATED, PII_INDEXED
    sums = conn.execute(f"SELECT {key_sql}, {_SUMS} FROM {source} WHERE {clause} GROUP BY 1", params).fetchall()
    timings = conn.execute(
        f"SELECT {key_sql}, duration_ms, ttfb_ms FROM {source} WHERE {clause} AND {TIMED}", params).fetchall()
    feedback = conn.execute(f"SELECT {key_sql}, {FEEDBACK_SUMS} FROM {rated} WHERE {clause} "
                            "AND feedback IS NOT NULL GROUP BY 1", params).fetchall()
    pii = conn.execute(f"SELECT {key_sql}, count(*) FROM {flagged} WHERE {clause} AND pii IS NOT NULL GROUP BY 1",
                       params).fetchall()

    def call_totals() -> tuple[Sequence[Any], Timings, Sequence[Any], Sequence[Any]]:
        return (conn.execute(f"SELECT {_SUMS} FROM calls WHERE {clause}", params).fetchone(),
                _sorted_timings(conn, clause, params),
                conn.execute(f"SELECT {FEEDBACK_SUMS} FROM {RATED} WHERE {clause} AND feedback IS NOT NULL",
                             params).fetchone(),
                conn.execute(f"SELECT count(*) FROM ({FLAGGED.format(clause)})", params).fetchone())
    return stats_of_rows(f, group_by, sums, timings, feedback, call_totals if group_by == "tag" else None, pii)


def distributions(conn: sqlite3.Connection, f: LogFilter, unit: str, group_by: Sequence[str],
                  measures: Sequence[Measure]) -> list[Distribution]:
    """store/distributions.py over the calls `f` selects."""
    clause, params = where(f)
    return _distributions(lambda sql, args: conn.execute(sql, args).fetchall(), clause, params, unit, group_by,
                          measures)
