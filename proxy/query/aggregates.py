"""Summary and stats shared by the API and the CLI (DESIGN §6): the request's parameters into a filter,
and the store's figures into the JSON `GET /v1/logs/summary|stats` answer and `llmlog summary/stats
--json` prints.

The summary follows the Perf logs document's layout (period, summary, by_model, by_provider,
by_status, by_task_type), with feedback figures beside it (Portkey's logs page filters and
aggregates manual feedback): calls with feedback, their average score, and calls per score; and
the calls in which personal data was found, in all and per kind (issue 21).
"""

from __future__ import annotations

from typing import cast

from llmlog.proxy.query.params import FILTER_PARAMS, Param, Query, parse_filter
from llmlog.proxy.query.present import usd_of_nanos
from llmlog.proxy.query.timeparse import MIN_MS, iso_ms
from llmlog.store.figures import BUCKETS, GROUP_BY, PERCENTILES, Figures, Stats, Summary
from llmlog.store.filters import LogFilter

STATS_PARAMS: tuple[Param, ...] = (
    Param("group_by", (), "str", f"one of {', '.join(GROUP_BY)}", required=True),
    Param("compare", (), "str", "previous: add the figures of the period of equal length before"),
)
NO_KEY = "unknown"  # summary breakdowns are JSON objects: a missing model/provider/task type needs a name


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def cost_usd(figures: Figures) -> float | None:
    """A group's summed cost; null when it has calls with tokens and none of them has a price
    (unknown, not $0). A group of only failed calls (nothing billed) costs 0."""
    if figures.priced == 0 and figures.unpriced > 0:
        return None
    return usd_of_nanos(figures.cost_nanos)


def summary_filter(raw, now_ms: int) -> LogFilter:
    """The filter of a summary request: FILTER_PARAMS, default window the last 7 days up to now."""
    return parse_filter(Query(raw, FILTER_PARAMS), now_ms, end_at_now=True)


def stats_request(raw, now_ms: int) -> tuple[LogFilter, str, bool]:
    """The filter, group_by and compare flag of a stats request; a ValidationError naming any bad parameter."""
    q = Query(raw, FILTER_PARAMS + STATS_PARAMS)
    group_by = q.one("group_by")
    if not group_by:
        raise q.error("group_by", f"parameter {{}} is required: one of {', '.join(GROUP_BY)}")
    if group_by not in GROUP_BY:
        raise q.error("group_by", f"parameter {{}} must be one of {', '.join(GROUP_BY)}, got {group_by!r}")
    compare = q.one("compare")
    if compare not in (None, "", "previous"):
        raise q.error("compare", f"parameter {{}} must be 'previous', got {compare!r}")
    f = parse_filter(q, now_ms, end_at_now=True)
    assert f.start_ms is not None and f.end_ms is not None  # the default window and end_at_now give both
    if compare == "previous" and f.start_ms - (f.end_ms - f.start_ms) < MIN_MS:
        raise q.error("compare", f"parameter {{}}: the previous period would start before {iso_ms(MIN_MS)}; "
                      "choose a later start_date")
    return f, group_by, compare == "previous"


def score_value(score: float) -> float | int:
    """A feedback score as given: 1 rather than 1.0, so thumbs (1, 0) read as sent."""
    return int(score) if score.is_integer() and abs(score) < 2**53 else score


def _avg_score(figures: Figures) -> float | None:
    avg = figures.avg_feedback_score
    return None if avg is None else round(avg, 6)


def feedback_json(result: Summary) -> dict:
    """Calls with feedback, their share and average score, and calls per score (a list, highest
    score first: as object keys, JavaScript would reorder integer scores)."""
    t = result.totals
    scored = sorted((key, figures) for key, figures in result.by_feedback_score.items() if key is not None)
    return {"calls_with_feedback": t.feedback_count, "calls_without_feedback": t.count - t.feedback_count,
            "feedback_rate": _ratio(t.feedback_count, t.count), "avg_feedback_score": _avg_score(t),
            "by_score": [{"score": score_value(key), "calls": figures.feedback_count}
                         for key, figures in reversed(scored)]}


def pii_json(result: Summary) -> dict:
    """Calls in which personal data was found, in all and per kind found (calls, not values: a call
    with three e-mail addresses counts once under email), the most frequent kind first."""
    return {"calls": result.totals.pii_count, "by_kind": dict(result.by_pii_kind)}


def _period(start_ms: int | None, end_ms: int | None) -> dict:
    days = None if start_ms is None or end_ms is None else round((end_ms - start_ms) / 86_400_000, 3)
    return {"start_date": iso_ms(start_ms), "end_date": iso_ms(end_ms), "days": days}


def summary_json(result: Summary, f: LogFilter) -> dict:
    t = result.totals

    def share(figures: Figures) -> dict:
        return {"calls": figures.count, "percentage": _ratio(figures.count, t.count),
                "total_cost_usd": cost_usd(figures), "avg_latency_ms": _ms(figures.avg_latency_ms)}

    def named(breakdown: dict) -> dict:
        return {(NO_KEY if key is None else key): value
                for key, value in sorted(breakdown.items(), key=lambda kv: (-kv[1].count, str(kv[0])))}

    return {
        "period": _period(f.start_ms, f.end_ms),
        "summary": {
            "total_calls": t.count,
            "successful_calls": t.successful,
            "failed_calls": t.errors,
            "success_rate": _ratio(t.successful, t.count),
            "total_cost_usd": usd_of_nanos(t.cost_nanos),
            # over the calls that have a price: unpriced calls would drag the average towards zero
            "avg_cost_per_call": round(t.cost_nanos / t.priced / 1_000_000_000, 9) if t.priced else None,
            "total_tokens": t.total_tokens,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "reasoning_tokens": t.reasoning_tokens,
            "avg_latency_ms": _ms(t.avg_latency_ms),
            "p50_latency_ms": t.pct(50),
            "p95_latency_ms": t.pct(95),
            "p99_latency_ms": t.pct(99),
            # time to first byte, over the calls that have one (calls_with_ttfb)
            "p50_ttfb_ms": t.ttfb_pct(50),
            "p95_ttfb_ms": t.ttfb_pct(95),
            "p99_ttfb_ms": t.ttfb_pct(99),
            "calls_with_ttfb": t.ttfb_count,
            "unpriced_calls": t.unpriced,
            # token counts (and so costs) llmlog estimated because the provider sent none
            "estimated_calls": t.estimated,
            "calls_with_feedback": t.feedback_count,
            "avg_feedback_score": _avg_score(t),
        },
        "by_model": {k: share(v) for k, v in named(result.by_model).items()},
        "by_provider": {k: share(v) for k, v in named(result.by_provider).items()},
        "by_status": {k: v.count for k, v in named(result.by_status).items()},
        "by_task_type": {k: v.count for k, v in named(result.by_task_type).items()},
        "feedback": feedback_json(result),
        "pii": pii_json(result),
    }


def figures_json(figures: Figures) -> dict:
    out = {
        "count": figures.count,
        "input_tokens": figures.input_tokens,
        "output_tokens": figures.output_tokens,
        "total_tokens": figures.total_tokens,
        "reasoning_tokens": figures.reasoning_tokens,
        "cost_usd": cost_usd(figures),
        "unpriced_calls": figures.unpriced,
        "estimated_calls": figures.estimated,
        "error_count": figures.errors,
        "avg_latency_ms": _ms(figures.avg_latency_ms),
        "feedback_count": figures.feedback_count,
        "avg_feedback_score": _avg_score(figures),
        "pii_count": figures.pii_count,  # calls in which personal data was found
    }
    for p in PERCENTILES:
        out[f"p{p}_latency_ms"] = figures.pct(p)
    for p in PERCENTILES:
        out[f"p{p}_ttfb_ms"] = figures.ttfb_pct(p)
    out["ttfb_count"] = figures.ttfb_count  # the calls the TTFB percentiles are over
    return out


def _stats_block(result: Stats) -> dict:
    is_time = result.group_by in BUCKETS
    groups = []
    for key, figures in result.groups:
        groups.append({"key": iso_ms(cast(int | None, key)) if is_time else key, **figures_json(figures)})
    return {"period": _period(result.start_ms, result.end_ms), "groups": groups,
            "totals": figures_json(result.totals)}


def stats_json(current: Stats, previous: Stats | None) -> dict:
    out = {"group_by": current.group_by, **_stats_block(current)}
    if previous is not None:
        out["previous"] = _stats_block(previous)
    return out
