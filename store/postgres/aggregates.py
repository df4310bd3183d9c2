"""Aggregates over `calls`: the summary and grouped stats of the logs API, as SQLite answers them
(store/sqlite/aggregates.py). Sums are exact (bigint sums arrive as Decimal and become ints in
figures.figures_of); percentiles come from each group's durations and times to first byte, fetched
together in one query and ranked by store/figures.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from ..distributions import Distribution, Measure
from ..distributions import distributions as _distributions
from ..figures import BUCKETS, Stats, Summary, Timings, rolled_up, sorted_timings, stats_asked, stats_of_rows, with_pii
from ..filters import LogFilter
from .queries import one, plain
from .where import FEEDBACK_SCORE, where

# a call that used tokens of a model with no known price (a refused call with no usage cost nothing)
UNPRICED = "(calls.priced = 0 AND coalesce(calls.total_tokens, 0) > 0)"
# nano-dollars, or for a row written without them (an old spill replayed) its micro-dollar figure
COST_NANOS = "coalesce(calls.cost_nanos, calls.cost_micros * 1000)"

# token counts llmlog estimated (tiktoken, or characters / 4) where the provider sent none
ESTIMATED = "calls.usage_source IN ('estimated', 'rough')"

DIMENSIONS = {
    "model": "calls.model",
    "provider": "calls.provider",
    "user": "calls.user_id",
    "api_key": "calls.api_key_hash",
    "status": "calls.status",
    "tag": "t.tag",
    "environment": "calls.environment",
    "task_type": "calls.task_type",
    "flow": "calls.flow",
}

SUMS = (
    "count(*), count(*) FILTER (WHERE calls.status = 'success'), count(*) FILTER (WHERE calls.status <> 'success'), "
    "coalesce(sum(calls.input_tokens), 0), coalesce(sum(calls.output_tokens), 0), "
    f"coalesce(sum(calls.total_tokens), 0), coalesce(sum({COST_NANOS}), 0), "
    f"count(*) FILTER (WHERE calls.priced <> 0), count(*) FILTER (WHERE {UNPRICED}), "
    "coalesce(sum(calls.duration_ms), 0), count(calls.duration_ms), coalesce(sum(calls.reasoning_tokens), 0), "
    f"count(*) FILTER (WHERE {ESTIMATED})"
)
# over calls with feedback only (the partial index calls_feedback, m002), as SQLite reads them
FEEDBACK_SUMS = f"count({FEEDBACK_SCORE}), coalesce(sum({FEEDBACK_SCORE}), 0)"
RATED = "calls.feedback IS NOT NULL"
# the calls in which personal data was found (the partial index calls_pii, m008), as SQLite reads them
FLAGGED = "SELECT calls.pii FROM calls WHERE {} AND calls.pii IS NOT NULL"
# the calls with a duration or a TTFB
TIMED = "(calls.duration_ms IS NOT NULL OR calls.ttfb_ms IS NOT NULL)"


def summary(conn: psycopg.Connection, f: LogFilter) -> Summary:
    clause, params = where(f)
    rows = conn.execute(f"SELECT calls.model, calls.provider, calls.status, calls.task_type, {SUMS} "
                        f"FROM calls WHERE {clause} GROUP BY 1, 2, 3, 4", params).fetchall()
    feedback = conn.execute(f"SELECT calls.model, calls.provider, calls.status, calls.task_type, {FEEDBACK_SCORE}, "
                            f"{FEEDBACK_SUMS} FROM calls WHERE {clause} AND {RATED} GROUP BY 1, 2, 3, 4, 5",
                            params).fetchall()
    summed = rolled_up(rows, _sorted_timings(conn, clause, params), feedback)
    flagged = FLAGGED.format(clause)
    return with_pii(summed, one(conn.execute(f"SELECT count(*) FROM ({flagged}) p", params)),
                    conn.execute(f"SELECT kind, count(*) FROM ({flagged}) p, jsonb_object_keys(p.pii::jsonb) kind "
                                 "GROUP BY 1", params).fetchall())


def _sorted_timings(conn: psycopg.Connection, clause: str, params: list[object]) -> Timings:
    return sorted_timings(conn.execute(f"SELECT calls.duration_ms, calls.ttfb_ms FROM calls WHERE {clause} "
                                       f"AND {TIMED}", params))


def _bucket_sql(width: int, offset: int) -> str:
    # bigint division truncates toward zero, as SQLite's does
    return f"((calls.started_at - {offset}) / {width}) * {width} + {offset}"


def stats(conn: psycopg.Connection, f: LogFilter, group_by: str, compare_previous: bool = False
          ) -> tuple[Stats, Stats | None]:
    """Figures per group (and in total) for the calls `f` selects, and for the period before it when
    asked (store/figures.py). With `tag`, a call counts once in each of its tags (untagged calls
    under None) and once in the totals."""
    return stats_asked(f, group_by, compare_previous, lambda window: _stats(conn, window, group_by))


def _stats(conn: psycopg.Connection, f: LogFilter, group_by: str) -> Stats:
    clause, params = where(f)
    if group_by in BUCKETS:
        key_sql, source = _bucket_sql(*BUCKETS[group_by]), "calls"
    elif group_by == "tag":
        key_sql, source = DIMENSIONS["tag"], "calls LEFT JOIN call_tags t ON t.call_id = calls.id"
    else:
        key_sql, source = DIMENSIONS[group_by], "calls"
    sums = conn.execute(f"SELECT {key_sql}, {SUMS} FROM {source} WHERE {clause} GROUP BY 1", params).fetchall()
    timings = conn.execute(f"SELECT {key_sql}, calls.duration_ms, calls.ttfb_ms FROM {source} WHERE {clause} "
                           f"AND {TIMED}", params).fetchall()
    feedback = conn.execute(f"SELECT {key_sql}, {FEEDBACK_SUMS} FROM {source} WHERE {clause} AND {RATED} "
                            "GROUP BY 1", params).fetchall()
    pii = conn.execute(f"SELECT {key_sql}, count(*) FROM {source} WHERE {clause} AND calls.pii IS NOT NULL "
                       "GROUP BY 1", params).fetchall()

    def call_totals() -> tuple[Sequence[Any], Timings, Sequence[Any], Sequence[Any]]:
        return (one(conn.execute(f"SELECT {SUMS} FROM calls WHERE {clause}", params)),
                _sorted_timings(conn, clause, params),
                one(conn.execute(f"SELECT {FEEDBACK_SUMS} FROM calls WHERE {clause} AND {RATED}", params)),
                one(conn.execute(f"SELECT count(*) FROM ({FLAGGED.format(clause)}) p", params)))
    return stats_of_rows(f, group_by, sums, timings, feedback, call_totals if group_by == "tag" else None, pii)


def distributions(conn: psycopg.Connection, f: LogFilter, unit: str, group_by: Sequence[str],
                  measures: Sequence[Measure]) -> list[Distribution]:
    """store/distributions.py over the calls `f` selects (sums as int or float, as SQLite's)."""
    clause, params = where(f)

    def run(sql: str, args: list[object]) -> list[list[Any]]:
        return [[plain(v) for v in row] for row in conn.execute(sql, args)]
    return _distributions(run, clause, params, unit, group_by, measures)
