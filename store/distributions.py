"""Distributions of a figure over calls or over call trees, grouped by a key: counts, sums, extremes,
exact nearest-rank percentiles (store/figures.py's rule) and histograms with stated edges, all
computed in the database. Python receives a handful of rows per group, never a row per call, so the
memory an answer takes does not grow with the number of calls (PromptShuttle's statistics, seeds/001).

The SQL is one text for both backends: every column is written `calls.<name>` (SQLite accepts the
qualified names too), window functions and integer division behave the same in SQLite ≥ 3.25 and
PostgreSQL, and the only value the text carries is a fixed constant; a backend passes its own WHERE
clause for the `LogFilter` and a function that runs a query.

A *tree* is a root call and every call below it (x-llmlog-parent-id): the calls the filter selects,
grouped by `root_id` (filled at write time, store/hierarchy.py). Its cost is the sum of its calls'
known costs, its latency the wall time from its first call's start to its last call's end, its
primary model the model of its shallowest call (the earliest of those).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .figures import BUCKETS, PERCENTILES, AggregateError

UNITS = ("call", "tree")
COST_NANOS = "coalesce(calls.cost_nanos, calls.cost_micros * 1000)"
_CALL_METRICS = {
    "tokens_in": "calls.input_tokens",
    "tokens_out": "calls.output_tokens",
    "tokens": "calls.total_tokens",
    "cost_nanos": COST_NANOS,
    "latency_ms": "calls.duration_ms",
    "tool_calls": "calls.tool_call_count",
    "failed": "CASE WHEN calls.status <> 'success' THEN 1 ELSE 0 END",
}
_CALL_KEYS = {"model": "calls.model", "flow": "calls.flow"}
# a tree's figures over its calls `c` (the inner query below names them)
_TREE_METRICS = {
    "cost_nanos": "sum(c.cost)",
    "tool_calls": "coalesce(sum(c.tool_call_count), 0)",
    "latency_ms": "max(c.ended) - min(c.started_at)",
    "calls": "count(*)",
    "max_depth": "max(c.depth)",
    "failed": "sum(c.failed)",
}
_TREE_KEYS = {"model": "c.primary_model"}
_TREE_CALLS = (
    "SELECT coalesce(calls.root_id, calls.id) AS tree, calls.started_at, "
    "coalesce(calls.completed_at, calls.started_at) AS ended, calls.depth, calls.tool_call_count, "
    f"{COST_NANOS} AS cost, CASE WHEN calls.status <> 'success' THEN 1 ELSE 0 END AS failed, "
    "first_value(calls.model) OVER (PARTITION BY coalesce(calls.root_id, calls.id) "
    "ORDER BY calls.depth, calls.started_at, calls.id) AS primary_model "
    "FROM calls WHERE {clause}"
)
METRICS = {"call": tuple(_CALL_METRICS), "tree": tuple(_TREE_METRICS)}
KEYS = {"call": (*_CALL_KEYS, *BUCKETS), "tree": (*_TREE_KEYS, *BUCKETS)}

# runs a query with its parameters; numbers come back as int or float (PostgreSQL's Decimal sums converted)
Run = Callable[[str, list[object]], Sequence[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Measure:
    """A figure asked for: always its count, sum, least and greatest value; with `percentiles` the
    PERCENTILES; with `edges` (ascending lower bounds) how many units fall in [edge, next edge),
    the last bucket open-ended and values below the first edge in the first."""

    metric: str
    percentiles: bool = False
    edges: tuple[float, ...] = ()


@dataclass(slots=True)
class MetricFigures:
    count: int = 0  # units that have the figure (a failed call may have no tokens, an unpriced one no cost)
    total: float = 0
    low: float | None = None
    high: float | None = None
    pcts: dict[int, float] = field(default_factory=dict)
    histogram: list[int] = field(default_factory=list)  # units per bucket of the measure's edges

    @property
    def avg(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(slots=True)
class Distribution:
    key: tuple[object, ...]  # the group's values, in group_by order (a bucket is its start, epoch ms)
    units: int  # calls or trees in the group
    metrics: dict[str, MetricFigures]


def _bucket_sql(column: str, group_by: str) -> str:
    width, offset = BUCKETS[group_by]
    return f"(({column} - {offset}) / {width}) * {width} + {offset}"


def _source(unit: str, clause: str, group_by: Sequence[str], metrics: Sequence[str]) -> str:
    """One row per unit: its group key as k0, k1, … and each metric as m_<name>."""
    if unit == "call":
        keys = [_bucket_sql("calls.started_at", k) if k in BUCKETS else _CALL_KEYS[k] for k in group_by]
        cols = [f"{sql} AS k{i}" for i, sql in enumerate(keys)] + [f"{_CALL_METRICS[m]} AS m_{m}" for m in metrics]
        return f"SELECT {', '.join(cols) or '1 AS one'} FROM calls WHERE {clause}"
    keys = [_bucket_sql("min(c.started_at)", k) if k in BUCKETS else _TREE_KEYS[k] for k in group_by]
    cols = [f"{sql} AS k{i}" for i, sql in enumerate(keys)] + [f"{_TREE_METRICS[m]} AS m_{m}" for m in metrics]
    return (f"SELECT {', '.join(cols) or '1 AS one'} FROM ({_TREE_CALLS.format(clause=clause)}) c "
            "GROUP BY c.tree, c.primary_model")


def _histogram_sql(column: str, edges: Sequence[float]) -> str:
    whens = " ".join(f"WHEN {column} < {edge!r} THEN {i}" for i, edge in enumerate(edges[1:]))
    return f"CASE {whens} ELSE {len(edges) - 1} END" if whens else "0"


def distributions(run: Run, clause: str, params: list[object], unit: str, group_by: Sequence[str],
                  measures: Sequence[Measure]) -> list[Distribution]:
    """The groups of units the WHERE `clause` selects, busiest first (ties by key), with the asked
    measures. One query for the sums, one per percentile measure and one per histogram."""
    if unit not in UNITS:
        raise AggregateError(f"no unit {unit!r}; choose one of {', '.join(UNITS)}")
    for key in group_by:
        if key not in KEYS[unit]:
            raise AggregateError(f"cannot group {unit}s by {key!r}; choose from {', '.join(KEYS[unit])}")
    for m in measures:
        if m.metric not in METRICS[unit]:
            raise AggregateError(f"no {unit} figure {m.metric!r}; choose from {', '.join(METRICS[unit])}")
        if list(m.edges) != sorted(set(m.edges)):
            raise AggregateError(f"histogram edges of {m.metric} must be ascending and distinct")
    names = list(dict.fromkeys(m.metric for m in measures))
    source = _source(unit, clause, group_by, names)
    ks = [f"k{i}" for i in range(len(group_by))]
    key_list = ", ".join(ks)
    group = f" GROUP BY {key_list}" if ks else ""
    sums = ", ".join(f"count(m_{m}), sum(m_{m}), min(m_{m}), max(m_{m})" for m in names)
    rows = run(f"SELECT {', '.join([*ks, 'count(*)', *([sums] if sums else [])])} FROM ({source}) u{group}",
               params)
    groups: dict[tuple[object, ...], Distribution] = {}
    width = len(ks)
    for row in rows:
        group_key = tuple(row[:width])
        metrics: dict[str, MetricFigures] = {}
        for i, name in enumerate(names):
            count, total, low, high = row[width + 1 + 4 * i: width + 5 + 4 * i]
            metrics[name] = MetricFigures(int(count), total or 0, low, high)
        groups[group_key] = Distribution(group_key, int(row[width]), metrics)
    lead = "".join(k + ", " for k in ks)  # the key columns before a query's own
    window = f"PARTITION BY {key_list}" if ks else ""
    for m in measures:
        column = f"m_{m.metric}"
        if m.percentiles:
            ranks = " OR ".join(f"rn = ({p} * n + 99) / 100" for p in PERCENTILES)
            ranked = (f"SELECT {lead}{column} AS v, row_number() OVER ({window} ORDER BY {column}) AS rn, "
                      f"count(*) OVER ({window}) AS n FROM ({source}) u WHERE {column} IS NOT NULL")
            for row in run(f"SELECT {lead}rn, n, v FROM ({ranked}) r WHERE {ranks}", params):
                rank, n, value = int(row[width]), int(row[width + 1]), row[width + 2]
                figures = groups[tuple(row[:width])].metrics[m.metric]
                for p in PERCENTILES:
                    if max(1, (p * n + 99) // 100) == rank:
                        figures.pcts[p] = value
        if m.edges:
            for d in groups.values():
                d.metrics[m.metric].histogram = [0] * len(m.edges)
            bucket = _histogram_sql(column, m.edges)
            for row in run(f"SELECT {lead}{bucket} AS b, count(*) FROM ({source}) u "
                           f"WHERE {column} IS NOT NULL GROUP BY {lead}b", params):
                groups[tuple(row[:width])].metrics[m.metric].histogram[int(row[width])] = int(row[width + 1])
    return sorted(groups.values(), key=lambda d: (-d.units, [(k is None, str(k)) for k in d.key]))
