"""What an aggregate answers with, and the rules every backend shares: which groupings exist, how
time buckets are cut (UTC, weeks from Monday), how percentiles are ranked. Pure.

Percentiles are exact, by the nearest-rank method: the p-th percentile of n sorted durations is
the value at 1-based rank ceil(p/100 * n). Calls without a duration are left out of latency figures only,
and calls without a time to first byte (TTFB) out of TTFB figures only. Durations and TTFBs are read in
one pass: (duration, ttfb) per call, either may be None.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

from .filters import LogFilter

PERCENTILES = (50, 90, 95, 99)
DIMENSIONS = ("model", "provider", "user", "api_key", "status", "tag", "environment", "task_type", "flow")
_WEEK_MS = 7 * 86_400_000
# Bucket widths in ms; weeks start on Monday 00:00 UTC (the epoch was a Thursday: shift by 4 days).
BUCKETS = {"5m": (300_000, 0), "15m": (900_000, 0), "hour": (3_600_000, 0), "day": (86_400_000, 0),
           "week": (_WEEK_MS, 4 * 86_400_000)}
GROUP_BY = DIMENSIONS + tuple(BUCKETS)
MAX_BUCKETS = 10_000
Timings = tuple[list[float], list[float]]  # sorted durations, sorted TTFBs


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
    feedback_count: int = 0  # calls with feedback
    feedback_score_sum: float = 0.0
    durations: list[float] = field(default_factory=list)  # sorted; filled only where percentiles are wanted
    ttfbs: list[float] = field(default_factory=list)  # times to first byte, sorted; filled with durations
    reasoning_tokens: int = 0  # thinking tokens, part of output_tokens
    estimated: int = 0  # calls whose token counts (and so cost) are llmlog's estimate, not the provider's
    pii_count: int = 0  # calls in which personal data was found (their `pii` is set)

    @property
    def avg_latency_ms(self) -> float | None:
        return self.duration_sum / self.duration_count if self.duration_count else None

    @property
    def avg_feedback_score(self) -> float | None:
        return self.feedback_score_sum / self.feedback_count if self.feedback_count else None

    def pct(self, p: float) -> float | None:
        return percentile(self.durations, p)

    def ttfb_pct(self, p: float) -> float | None:
        return percentile(self.ttfbs, p)

    @property
    def ttfb_count(self) -> int:
        """Calls with a time to first byte (as filled with the durations)."""
        return len(self.ttfbs)

    def time(self, timings: Timings) -> None:
        self.durations, self.ttfbs = timings

    def add(self, other: Figures) -> None:
        """Fold in the sums of another group (durations and TTFBs are gathered separately)."""
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
        self.feedback_count += other.feedback_count
        self.feedback_score_sum += other.feedback_score_sum
        self.reasoning_tokens += other.reasoning_tokens
        self.estimated += other.estimated
        self.pii_count += other.pii_count


def sorted_timings(rows: Iterable[Sequence[Any]]) -> Timings:
    """Sorted durations and sorted TTFBs from (duration, ttfb) rows, either of them None."""
    durations: list[float] = []
    ttfbs: list[float] = []
    for duration, ttfb in rows:
        if duration is not None:
            durations.append(duration)
        if ttfb is not None:
            ttfbs.append(ttfb)
    durations.sort()
    ttfbs.sort()
    return durations, ttfbs


def figures_of(row: Sequence[Any]) -> Figures:
    """Figures from the thirteen sums a backend selects: eleven in Figures' field order, then
    reasoning tokens and estimated calls (Decimal-safe)."""
    count, successful, errors, inputs, outputs, total, nanos, priced, unpriced, dsum, dcount, thinking, estimated = row
    return Figures(int(count), int(successful or 0), int(errors or 0), int(inputs), int(outputs), int(total),
                   int(nanos), int(priced or 0), int(unpriced or 0), float(dsum), int(dcount),
                   reasoning_tokens=int(thinking), estimated=int(estimated or 0))


def feedback_of(row: Sequence[Any]) -> Figures:
    """The feedback figures from a backend's (count, sum of scores) over calls with feedback. Backends
    read them in a query of their own, over calls with feedback only (a partial index), so the sums
    above keep reading only their covering index."""
    count, total = row
    return Figures(feedback_count=int(count), feedback_score_sum=float(total or 0))


@dataclass(slots=True)
class Summary:
    totals: Figures
    by_model: dict[str | None, Figures]
    by_provider: dict[str | None, Figures]
    by_status: dict[str | None, Figures]
    by_task_type: dict[str | None, Figures]
    by_feedback_score: dict[float | None, Figures]  # score -> its calls' feedback figures
    # kind of personal data -> calls in which it was found (calls, not values); totals.pii_count: any kind
    by_pii_kind: dict[str, int] = field(default_factory=dict)


def rolled_up(rows: Iterable[Sequence[Any]], timings: Timings,
              feedback: Iterable[Sequence[Any]] = ()) -> Summary:
    """A Summary from (model, provider, status, task_type, *sums) rows: one grouped scan of a
    handful of combinations, rolled up here; and (model, provider, status, task_type, score, count,
    sum of scores) rows of the calls with feedback; the totals' sorted durations and TTFBs. Scores
    become floats, so 1 (SQLite's integer) and 1.0 (PostgreSQL's double) are one key."""
    totals = Figures()
    breakdowns: tuple[dict[Any, Figures], ...] = ({}, {}, {}, {})
    by_score: dict[float | None, Figures] = {}

    def add(part: Figures, keys: Sequence[Any]) -> None:
        totals.add(part)
        for breakdown, key in zip(breakdowns, keys, strict=True):
            breakdown.setdefault(key, Figures()).add(part)

    for row in rows:
        add(figures_of(row[4:]), row[:4])
    for row in feedback:
        part = feedback_of(row[5:])
        add(part, row[:4])
        by_score.setdefault(float(row[4]), Figures()).add(part)
    totals.time(timings)
    by_model, by_provider, by_status, by_task_type = breakdowns
    return Summary(totals, by_model, by_provider, by_status, by_task_type, by_score)


def with_pii(summary: Summary, calls: Sequence[Any], kinds: Iterable[Sequence[Any]]) -> Summary:
    """`summary` with its personal data figures: a backend's (count,) of the calls with any and
    (kind, calls) rows, both read over calls with `pii` only (a partial index), as feedback is."""
    summary.totals.pii_count = int(calls[0])
    summary.by_pii_kind = {str(kind): int(count) for kind, count in sorted(kinds, key=lambda r: (-int(r[1]), r[0]))}
    return summary


@dataclass(slots=True)
class Stats:
    group_by: str
    groups: list[tuple[object, Figures]]  # key (str, None, or bucket start in epoch ms), figures
    totals: Figures
    start_ms: int | None
    end_ms: int | None


def bucket_start(ms: int, group_by: str) -> int:
    width, offset = BUCKETS[group_by]
    return ((ms - offset) // width) * width + offset


def stats_windows(f: LogFilter, group_by: str, compare_previous: bool) -> tuple[LogFilter, LogFilter | None]:
    """The filter for the asked period and, with `compare_previous`, the one for the period of equal
    length just before it; raises AggregateError for a question that cannot be answered."""
    if group_by not in GROUP_BY:
        raise AggregateError(f"cannot group by {group_by!r}; choose one of {', '.join(GROUP_BY)}")
    if group_by in BUCKETS:
        if f.start_ms is None or f.end_ms is None:
            raise AggregateError("time buckets need a start and an end")
        width = BUCKETS[group_by][0]
        if (f.end_ms - bucket_start(f.start_ms, group_by)) / width > MAX_BUCKETS:
            raise AggregateError(f"more than {MAX_BUCKETS} {group_by} buckets; "
                                 "choose a wider bucket or a shorter window")
    if not compare_previous:
        return f, None
    if f.start_ms is None or f.end_ms is None:
        raise AggregateError("compare=previous needs a start and an end")
    span = f.end_ms - f.start_ms
    return f, replace(f, start_ms=f.start_ms - span, end_ms=f.start_ms)


def stats_asked(f: LogFilter, group_by: str, compare_previous: bool,
                answer: Callable[[LogFilter], Stats]) -> tuple[Stats, Stats | None]:
    """`answer(window)` for the asked window and, with `compare_previous`, the one just before it:
    what Store.stats returns, whichever backend's `answer` it is."""
    current, previous = stats_windows(f, group_by, compare_previous)
    return answer(current), (answer(previous) if previous else None)


CallTotals = Callable[[], tuple[Sequence[Any], Timings, Sequence[Any], Sequence[Any]]]


def stats_of_rows(f: LogFilter, group_by: str, sums: Iterable[Sequence[Any]], timings: Iterable[Sequence[Any]],
                  feedback: Iterable[Sequence[Any]] = (), call_totals: CallTotals | None = None,
                  pii: Iterable[Sequence[Any]] = ()) -> Stats:
    """Stats from a backend's rows: (key, *sums) per group, (key, duration, ttfb) per call, (key,
    count, sum of scores) per group of the calls with feedback and (key, count) per group of the
    calls with personal data. With `call_totals` (tag grouping: a call with two tags is in two
    groups) the totals are its (sums, sorted durations and TTFBs, feedback count and sum, count of
    calls with personal data) over the calls themselves; otherwise the groups' sum."""
    groups = {row[0]: figures_of(row[1:]) for row in sums}
    for row in feedback:
        groups.setdefault(row[0], Figures()).add(feedback_of(row[1:]))
    for key, count in pii:
        groups.setdefault(key, Figures()).pii_count += int(count)
    by_key: dict[object, Timings] = defaultdict(lambda: ([], []))
    for key, duration, ttfb in timings:
        durations, ttfbs = by_key[key]
        if duration is not None:
            durations.append(duration)
        if ttfb is not None:
            ttfbs.append(ttfb)
    for key, (durations, ttfbs) in by_key.items():
        durations.sort()
        ttfbs.sort()
        groups[key].time((durations, ttfbs))
    if call_totals is not None:
        row, all_timings, feedback_row, pii_row = call_totals()
        totals = figures_of(row)
        totals.add(feedback_of(feedback_row))
        totals.pii_count = int(pii_row[0])
        totals.time(all_timings)
    else:
        totals = Figures()
        for figures in groups.values():
            totals.add(figures)
        # the groups' sorted runs, merged by the sort
        totals.time((sorted(chain.from_iterable(d for d, _ in by_key.values())),
                     sorted(chain.from_iterable(t for _, t in by_key.values()))))
    return grouped(f, group_by, groups, totals)


def grouped(f: LogFilter, group_by: str, groups: dict[object, Figures], totals: Figures) -> Stats:
    """Stats in the API's order: every time bucket of the window (empty ones too), or the busiest
    group first, ties by key, None last."""
    ordered: list[tuple[object, Figures]]
    if group_by in BUCKETS:
        if f.start_ms is None or f.end_ms is None:  # stats_windows has refused such a question
            raise AggregateError("time buckets need a start and an end")
        width = BUCKETS[group_by][0]
        ordered = []
        start = bucket_start(f.start_ms, group_by)
        while start < f.end_ms:
            ordered.append((start, groups.get(start) or Figures()))
            start += width
    else:
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1].count, kv[0] is None, str(kv[0])))
    return Stats(group_by, ordered, totals, f.start_ms, f.end_ms)
