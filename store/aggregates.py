"""Aggregates over the `calls` table: the summary and grouped stats of the logs API (DESIGN §6).

Sync functions over one connection, shared by the API and the CLI. Only `calls` (and `call_tags`
for tag grouping) is read, never content. Sums are exact: tokens and cost (integer micro-dollars)
are summed in SQL; conversion to USD is left to presentation.

Percentiles are exact, by the nearest-rank method: the p-th percentile of n sorted durations is
the value at 1-based rank ceil(p/100 * n). They are computed in Python from each group's durations,
fetched with the same filter. Calls without a duration are left out of latency figures only.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field, replace

from .filters import LogFilter, where

PERCENTILES = (50, 90, 95, 99)

# A call whose cost is unknown although it should have one: it succeeded, or we know what it asked for.
# a call that used tokens of a model with no known price (a refused call with no usage cost nothing)
UNPRICED = "(priced = 0 AND coalesce(total_tokens, 0) > 0)"

# group_by name -> SQL key expression over `calls` (tag needs a join, buckets need arithmetic)
DIMENSIONS = {
    "model": "model",
    "provider": "provider",
    "user": "user_id",
    "api_key": "api_key_hash",
    "status": "status",
    "tag": "t.tag",
    "environment": "environment",
    "task_type": "task_type",
}
_WEEK_MS = 7 * 86_400_000
# Bucket widths in ms; weeks start on Monday 00:00 UTC (the epoch was a Thursday: shift by 4 days).
BUCKETS = {"5m": (300_000, 0), "15m": (900_000, 0), "hour": (3_600_000, 0), "day": (86_400_000, 0),
           "week": (_WEEK_MS, 4 * 86_400_000)}
GROUP_BY = tuple(DIMENSIONS) + tuple(BUCKETS)
MAX_BUCKETS = 10_000


class AggregateError(ValueError):
    """The question cannot be answered as asked (e.g. too many buckets); the message says why."""


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(slots=True)
class Figures:
    """The figures of one group of calls. Tokens in tokens, cost in nano-dollars, latency in ms."""

    count: int = 0
    successful: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_nanos: int = 0
    priced: int = 0
    unpriced: int = 0
    duration_sum: float = 0.0
    duration_count: int = 0
    durations: list[float] = field(default_factory=list)  # sorted; filled only where percentiles are wanted

    @property
    def avg_latency_ms(self) -> float | None:
        return self.duration_sum / self.duration_count if self.duration_count else None

    def pct(self, p: float) -> float | None:
        return percentile(self.durations, p)

    def add(self, other: "Figures") -> None:
        """Fold in the SQL sums of another group (durations are gathered separately)."""
        self.count += other.count
        self.successful += other.successful
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        self.cost_nanos += other.cost_nanos
        self.priced += other.priced
        self.unpriced += other.unpriced
        self.duration_sum += other.duration_sum
        self.duration_count += other.duration_count


# The exact cost of a row: nano-dollars, or for a row written without them (a spill file from an
# earlier llmlog replayed) its micro-dollar figure.
COST_NANOS = "coalesce(cost_nanos, cost_micros * 1000)"

_SUMS = (
    "count(*), sum(status = 'success'), sum(status != 'success'), "
    "coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(total_tokens), 0), "
    f"coalesce(sum({COST_NANOS}), 0), sum(priced != 0), sum{UNPRICED}, coalesce(sum(duration_ms), 0), "
    "count(duration_ms)"
)


def _figures(row) -> Figures:
    """Figures from the _SUMS columns of a row."""
    return Figures(*row)


@dataclass(slots=True)
class Summary:
    totals: Figures
    by_model: dict[str | None, Figures]
    by_provider: dict[str | None, Figures]
    by_status: dict[str | None, Figures]
    by_task_type: dict[str | None, Figures]


def summary(conn: sqlite3.Connection, f: LogFilter) -> Summary:
    """Totals and breakdowns by model, provider, status and task type for the calls `f` selects.

    One grouped scan (model × provider × status × task type, a handful of combinations) is rolled
    up in Python; one more scan fetches durations for the percentiles.
    """
    clause, params = where(f)
    totals = Figures()
    breakdowns: tuple[dict, ...] = ({}, {}, {}, {})
    rows = conn.execute(
        f"SELECT model, provider, status, task_type, {_SUMS} FROM calls WHERE {clause} GROUP BY 1, 2, 3, 4", params)
    for row in rows:
        part = _figures(row[4:])
        totals.add(part)
        for breakdown, key in zip(breakdowns, row[:4]):
            breakdown.setdefault(key, Figures()).add(part)
    by_model, by_provider, by_status, by_task_type = breakdowns
    totals.durations = _sorted_durations(conn, clause, params)
    return Summary(totals, by_model, by_provider, by_status, by_task_type)


def _sorted_durations(conn: sqlite3.Connection, clause: str, params: list) -> list[float]:
    rows = conn.execute(f"SELECT duration_ms FROM calls WHERE {clause} AND duration_ms IS NOT NULL", params)
    return sorted(d for (d,) in rows)


@dataclass(slots=True)
class Stats:
    group_by: str
    groups: list[tuple[object, Figures]]  # key (str, None, or bucket start in epoch ms), figures
    totals: Figures
    start_ms: int | None
    end_ms: int | None


def _bucket_sql(width: int, offset: int) -> str:
    return f"((started_at - {offset}) / {width}) * {width} + {offset}"


def bucket_start(ms: int, group_by: str) -> int:
    width, offset = BUCKETS[group_by]
    return ((ms - offset) // width) * width + offset


def stats(conn: sqlite3.Connection, f: LogFilter, group_by: str, compare_previous: bool = False
          ) -> tuple[Stats, Stats | None]:
    """Figures per group (and in total) for the calls `f` selects; with `compare_previous`, the
    same for the period of equal length just before `f`'s window.

    Time buckets are UTC and every bucket of the window is present, empty ones included; the
    window needs a start and an end. With `tag`, a call counts once in each of its tags (untagged
    calls under None) and once in the totals.
    """
    if group_by not in GROUP_BY:
        raise AggregateError(f"cannot group by {group_by!r}; choose one of {', '.join(GROUP_BY)}")
    if group_by in BUCKETS:
        if f.start_ms is None or f.end_ms is None:
            raise AggregateError("time buckets need a start and an end")
        width = BUCKETS[group_by][0]
        if (f.end_ms - bucket_start(f.start_ms, group_by)) / width > MAX_BUCKETS:
            raise AggregateError(f"more than {MAX_BUCKETS} {group_by} buckets; choose a wider bucket or a shorter window")
    current = _stats(conn, f, group_by)
    previous = None
    if compare_previous:
        if f.start_ms is None or f.end_ms is None:
            raise AggregateError("compare=previous needs a start and an end")
        span = f.end_ms - f.start_ms
        previous = _stats(conn, replace(f, start_ms=f.start_ms - span, end_ms=f.start_ms), group_by)
    return current, previous


def _stats(conn: sqlite3.Connection, f: LogFilter, group_by: str) -> Stats:
    clause, params = where(f)
    if group_by in BUCKETS:
        key_sql, source = _bucket_sql(*BUCKETS[group_by]), "calls"
    elif group_by == "tag":
        key_sql, source = DIMENSIONS["tag"], "calls LEFT JOIN call_tags t ON t.call_id = calls.id"
    else:
        key_sql, source = DIMENSIONS[group_by], "calls"
    groups: dict[object, Figures] = {}
    for row in conn.execute(f"SELECT {key_sql}, {_SUMS} FROM {source} WHERE {clause} GROUP BY 1", params):
        groups[row[0]] = _figures(row[1:])
    durations: dict[object, list[float]] = defaultdict(list)
    for key, duration in conn.execute(
            f"SELECT {key_sql}, duration_ms FROM {source} WHERE {clause} AND duration_ms IS NOT NULL", params):
        durations[key].append(duration)
    for key, values in durations.items():
        groups[key].durations = sorted(values)
    totals = Figures()
    if group_by == "tag":  # a call with two tags is in two groups: total it once, from calls alone
        row = conn.execute(f"SELECT {_SUMS} FROM calls WHERE {clause}", params).fetchone()
        totals = _figures(row)
        totals.durations = _sorted_durations(conn, clause, params)
    else:
        for figures in groups.values():
            totals.add(figures)
        totals.durations = sorted(d for values in durations.values() for d in values)
    if group_by in BUCKETS:
        ordered = _with_empty_buckets(groups, f, group_by)
    else:  # busiest first; ties by key, None last
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1].count, kv[0] is None, str(kv[0])))
    return Stats(group_by, ordered, totals, f.start_ms, f.end_ms)


def _with_empty_buckets(groups: dict, f: LogFilter, group_by: str) -> list[tuple[int, Figures]]:
    width = BUCKETS[group_by][0]
    out = []
    start = bucket_start(f.start_ms, group_by)
    while start < f.end_ms:
        out.append((start, groups.get(start) or Figures()))
        start += width
    return out
