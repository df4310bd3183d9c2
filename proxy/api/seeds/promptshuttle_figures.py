"""PromptShuttle's statistics (seeds/001, "Analytics") as translations over llmlog's own: its query
parameters into a LogFilter and the measures `Store.distributions` computes (store/distributions.py),
and the store's groups into its camelCase answers. Pure: parameters in, dicts out.

Terms in llmlog's words:
- an *invocation* is one logged call; a flow is the call's `x-llmlog-flow` label.
- a *request* (level 2) and an *agent tree* (level 3) are the same unit: a root call and every call
  below it (x-llmlog-parent-id), i.e. one `root_id`. Its cost is the sum of its calls' known costs
  (llmlog sees the LLM calls of a tool-calling loop, not what running a tool costs), its function
  calls the tool calls its answers asked for, its latency the wall time from its first call's start
  to its last call's end, its primary model the model of its shallowest (then earliest) call; its
  agents are its calls, its depth the deepest call's (the root is 0). A flow's requests are built
  from the calls carrying the flow's label in the window.
- credits are USD times `logs_api.credits_per_usd` (1 unless configured).

Percentiles are nearest-rank (the p-th of n sorted values is the one at rank ceil(p·n/100)), as in
the logs API; averages and percentiles are over the units that have the figure (a failed call may
have no tokens; a call of a model without a price has no cost). Histograms count units per bucket
[from, to); the last bucket has `to: null`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from multidict import MultiMapping

from llmlog.proxy.errors import ValidationError
from llmlog.proxy.query.params import Param, Query, parse_filter
from llmlog.proxy.query.timeparse import MIN_MS, iso_ms
from llmlog.store.distributions import Distribution, Measure, MetricFigures
from llmlog.store.figures import BUCKETS, MAX_BUCKETS, PERCENTILES, bucket_start
from llmlog.store.filters import LogFilter

# bucket lower edges: total tokens of a call, latency (ms) of a call or request, calls in a tree,
# depth of a tree (one bucket per depth, 10 and deeper together)
TOKEN_EDGES = (0, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000)
LATENCY_EDGES = (0, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000)
AGENT_EDGES = (1, 2, 3, 4, 5, 10, 20, 50, 100)
DEPTH_EDGES = tuple(range(11))
TOP_FLOWS = 10  # flows listed in topFlows and given their own series
RESOLUTIONS = {"Minutes5": "5m", "Minutes15": "15m", "Hour": "hour", "Day": "day", "Week": "week"}
DEFAULT_PERIOD_MS, DEFAULT_RESOLUTION = 7 * 86_400_000, "Hour"

WINDOW_PARAMS: tuple[Param, ...] = (
    Param("start_date", ("from",), "time", "inclusive start (ISO 8601 or relative like -24h); default: 7 days ago"),
    Param("end_date", ("to",), "time", "exclusive end (ISO 8601 or relative); default: now"),
)
EXTENDED_PARAMS = (*WINDOW_PARAMS, Param("resolution", (), "str",
                                         f"time series bucket: {', '.join(RESOLUTIONS)} (default Day)"))
TENANT_PARAMS: tuple[Param, ...] = (
    Param("period", (), "str", ".NET TimeSpan d.hh:mm:ss or hh:mm:ss ending at `to` (default 7.00:00:00)"),
    Param("resolution", (), "str", f"time bucket: {', '.join(RESOLUTIONS)} (default {DEFAULT_RESOLUTION})"),
    WINDOW_PARAMS[1],
)

# what each level asks the store for
INFERENCE = (Measure("tokens_in", percentiles=True), Measure("tokens_out", percentiles=True),
             Measure("tokens", edges=TOKEN_EDGES), Measure("latency_ms", percentiles=True, edges=LATENCY_EDGES),
             Measure("cost_nanos", percentiles=True), Measure("failed"))
REQUEST = (Measure("cost_nanos", percentiles=True), Measure("tool_calls", percentiles=True),
           Measure("latency_ms", percentiles=True, edges=LATENCY_EDGES), Measure("calls"))
TREE = (Measure("cost_nanos", percentiles=True), Measure("calls", percentiles=True, edges=AGENT_EDGES),
        Measure("max_depth", edges=DEPTH_EDGES))
# both of a flow's tree-level figures at once (the extended statistics show both levels): one query, not two
REQUEST_AND_TREE = (*REQUEST[:3], TREE[1], TREE[2])
SERIES = (Measure("cost_nanos"), Measure("tokens_in"), Measure("tokens_out"), Measure("tokens"))
SHARE = (Measure("cost_nanos"),)

_TIMESPAN = re.compile(r"(?:(\d{1,8})\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?", re.ASCII)  # not ٧ or ７


def documented(params: tuple[Param, ...]) -> tuple[Param, ...]:
    """The parameters under the document's names alone, for /openapi.json."""
    return tuple(Param((p.aliases or (p.name,))[0], (), p.kind, p.help) for p in params)


def _documented(raw: MultiMapping[str], params: tuple[Param, ...]) -> Query:
    """Only the document's names (the first alias, or the name where there is none)."""
    names = {(p.aliases or (p.name,))[0] for p in params}
    for name in raw:
        if name not in names:
            raise ValidationError(f"unknown parameter '{name}'", name)
    return Query(raw, params)


def flow_filter(flow: str, raw: MultiMapping[str], now: int, params: tuple[Param, ...] = WINDOW_PARAMS
                ) -> tuple[LogFilter, Query]:
    """The calls of one flow in the asked window (`from`/`to`; default the last 7 days up to now)."""
    q = _documented(raw, params)
    f = parse_filter(q, now, end_at_now=True)
    f.flows = [flow]
    return f, q


def window_filter(raw: MultiMapping[str], now: int) -> LogFilter:
    return parse_filter(_documented(raw, WINDOW_PARAMS), now, end_at_now=True)


def resolution(q: Query, default: str) -> str:
    """The store's bucket name for `resolution` (case as documented, or any case)."""
    text = q.one("resolution") or default
    found = next((v for k, v in RESOLUTIONS.items() if k.lower() == text.lower()), None)
    if found is None:
        raise q.error("resolution", f"parameter {{}} must be one of {', '.join(RESOLUTIONS)}, got {text!r}")
    return found


def parse_timespan(text: str) -> int:
    """A .NET TimeSpan `[d.]hh:mm:ss[.fffffff]` (hours < 24, minutes and seconds < 60) as ms; ValueError otherwise."""
    match = _TIMESPAN.fullmatch(text)
    if match is None:
        raise ValueError(text)
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(text)
    ms = ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60_000 + int(seconds) * 1000
    return ms + int((fraction or "0").ljust(7, "0")) // 10_000


@dataclass(slots=True)
class TenantQuery:
    current: LogFilter
    previous: LogFilter
    bucket: str
    period: str  # as sent (or the default)
    resolution: str  # the document's name


def tenant_query(raw: MultiMapping[str], now: int) -> TenantQuery:
    """`period` ending at `to` (default now) and `resolution`; the previous period is the one of
    equal length before."""
    q = _documented(raw, TENANT_PARAMS)
    end = parse_filter(q, now, default_window_ms=None, end_at_now=True).end_ms
    assert end is not None
    period = q.one("period") or "7.00:00:00"
    try:
        span = parse_timespan(period)
    except ValueError:
        raise q.error("period", f"parameter {{}} must be a TimeSpan d.hh:mm:ss or hh:mm:ss, got {period!r}") from None
    if span <= 0:
        raise q.error("period", "parameter {} must be longer than zero")
    if end - 2 * span < MIN_MS:
        raise q.error("period", f"parameter {{}}: the previous period would start before {iso_ms(MIN_MS)}")
    bucket = resolution(q, DEFAULT_RESOLUTION)
    current = LogFilter(start_ms=end - span, end_ms=end)
    check_buckets(q, current, bucket)
    name = next(k for k, v in RESOLUTIONS.items() if v == bucket)
    return TenantQuery(current, replace(current, start_ms=end - 2 * span, end_ms=end - span), bucket, period, name)


def check_buckets(q: Query, f: LogFilter, bucket: str) -> None:
    assert f.start_ms is not None and f.end_ms is not None
    if (f.end_ms - bucket_start(f.start_ms, bucket)) / BUCKETS[bucket][0] > MAX_BUCKETS:
        raise q.error("resolution", f"parameter {{}}: more than {MAX_BUCKETS} buckets; choose a coarser "
                      "resolution or a shorter period")


def bucket_starts(f: LogFilter, bucket: str) -> list[int]:
    """Every bucket of the window, empty ones too (as GET /v1/logs/stats lists them)."""
    assert f.start_ms is not None and f.end_ms is not None
    start, starts = bucket_start(f.start_ms, bucket), []
    while start < f.end_ms:
        starts.append(start)
        start += BUCKETS[bucket][0]
    return starts


# -- shaping --

def _usd(nanos: float | None) -> float | None:
    return None if nanos is None else round(nanos / 1_000_000_000, 12)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _pcts(m: MetricFigures, scale=lambda v: v) -> dict:
    return {f"p{p}": (None if p not in m.pcts else scale(m.pcts[p])) for p in PERCENTILES}


def _histogram(m: MetricFigures, edges: tuple[int, ...]) -> list[dict]:
    counts = m.histogram or [0] * len(edges)
    return [{"from": edge, "to": edges[i + 1] if i + 1 < len(edges) else None, "count": counts[i]}
            for i, edge in enumerate(edges)]


def _cost(m: MetricFigures, credits_per_usd: float, prefix: str = "") -> dict:
    total = _usd(m.total) if m.count else None
    avg = _usd(m.avg)
    return {f"{prefix}CostUsd" if prefix else "costUsd": total,
            f"{prefix}CostCredits" if prefix else "costCredits": None if total is None else total * credits_per_usd,
            "avgCostUsd": avg, "avgCostCredits": None if avg is None else avg * credits_per_usd}


def _window(f: LogFilter) -> dict:
    return {"from": iso_ms(f.start_ms), "to": iso_ms(f.end_ms)}


def inference_answer(flow: str, f: LogFilter, groups: list[Distribution], credits_per_usd: float) -> dict:
    """Level 1: per model, the figures of each call."""
    models = []
    for d in groups:
        m = d.metrics
        models.append({
            "model": d.key[0], "invocations": d.units, "failed": int(m["failed"].total),
            "avgTokensIn": _round(m["tokens_in"].avg, 2), "avgTokensOut": _round(m["tokens_out"].avg, 2),
            "avgLatencyMs": _round(m["latency_ms"].avg),
            **_cost(m["cost_nanos"], credits_per_usd, "total"),
            "tokensIn": _pcts(m["tokens_in"]), "tokensOut": _pcts(m["tokens_out"]),
            "latencyMs": _pcts(m["latency_ms"]), "costUsd": _pcts(m["cost_nanos"], _usd),
            "tokenHistogram": _histogram(m["tokens"], TOKEN_EDGES),
            "latencyHistogram": _histogram(m["latency_ms"], LATENCY_EDGES),
        })
    return {"flow": flow, **_window(f), "invocations": sum(d.units for d in groups), "models": models}


def _request_figures(d: Distribution, credits_per_usd: float) -> dict:
    m = d.metrics
    return {"requests": d.units, **_cost(m["cost_nanos"], credits_per_usd, "total"),
            "costUsd": _pcts(m["cost_nanos"], _usd),
            "totalFunctionCalls": int(m["tool_calls"].total), "avgFunctionCalls": _round(m["tool_calls"].avg, 3),
            "functionCalls": _pcts(m["tool_calls"]), "avgCalls": _round(m["calls"].avg, 3),
            "avgLatencyMs": _round(m["latency_ms"].avg), "latencyMs": _pcts(m["latency_ms"]),
            "latencyHistogram": _histogram(m["latency_ms"], LATENCY_EDGES)}


def request_answer(flow: str, f: LogFilter, total: list[Distribution], by_model: list[Distribution],
                   credits_per_usd: float) -> dict:
    """Level 2: per request (root call and its descendants), over all and by primary model."""
    whole = total[0] if total else Distribution((), 0, {m.metric: MetricFigures() for m in REQUEST})
    return {"flow": flow, **_window(f), **_request_figures(whole, credits_per_usd),
            "byPrimaryModel": [{"primaryModel": d.key[0], **_request_figures(d, credits_per_usd)} for d in by_model]}


def tree_answer(flow: str, f: LogFilter, total: list[Distribution], credits_per_usd: float) -> dict:
    """Level 3: per agent tree: cost, agents (calls), depth."""
    d = total[0] if total else Distribution((), 0, {m.metric: MetricFigures() for m in TREE})
    m = d.metrics
    return {"flow": flow, **_window(f), "trees": d.units, **_cost(m["cost_nanos"], credits_per_usd, "total"),
            "costUsd": _pcts(m["cost_nanos"], _usd),
            "totalAgents": int(m["calls"].total), "avgAgentCount": _round(m["calls"].avg, 3),
            "agentCount": _pcts(m["calls"]), "maxDepth": m["max_depth"].high,
            "avgMaxDepth": _round(m["max_depth"].avg, 3),
            "depthDistribution": _histogram(m["max_depth"], DEPTH_EDGES),
            "agentCountDistribution": _histogram(m["calls"], AGENT_EDGES)}


def series(f: LogFilter, bucket: str, groups: list[Distribution], credits_per_usd: float) -> list[dict]:
    """Invocations, cost and tokens per time bucket (groups keyed by bucket start), every bucket listed."""
    by_start = {d.key[-1]: d for d in groups}
    points = []
    for start in bucket_starts(f, bucket):
        d = by_start.get(start)
        cost = d.metrics["cost_nanos"].total if d else 0
        points.append({"time": iso_ms(start), "invocations": d.units if d else 0, "costUsd": _usd(cost),
                       "costCredits": _usd(cost * credits_per_usd),
                       **{name: int(d.metrics[key].total) if d else 0
                          for name, key in (("tokensIn", "tokens_in"), ("tokensOut", "tokens_out"),
                                            ("tokens", "tokens"))}})
    return points


def extended_answer(inference: dict, request: dict, tree: dict, f: LogFilter, bucket: str,
                    groups: list[Distribution], credits_per_usd: float) -> dict:
    name = next(k for k, v in RESOLUTIONS.items() if v == bucket)
    return {"flow": inference["flow"], **_window(f), "perInference": inference, "perRequest": request,
            "perTree": tree, "timeSeries": {"resolution": name, "points": series(f, bucket, groups, credits_per_usd)}}


def _change(current: float, previous: float) -> dict:
    return {"current": current, "previous": previous,
            "changePercent": round((current - previous) * 100 / previous, 2) if previous else None}


def shares(values: list[int]) -> list[float | None]:
    """Each value's percentage of their sum to two decimals by the largest-remainder method: each
    share is rounded down to 0.01 and the hundredths still missing go to the largest remainders
    (ties to the earlier), so the shares add up to exactly 100.00. None when the sum is 0."""
    whole = sum(values)
    if whole <= 0:
        return [None] * len(values)
    parts = [divmod(v * 10_000, whole) for v in values]
    missing = 10_000 - sum(q for q, _ in parts)
    order = sorted(range(len(values)), key=lambda i: -parts[i][1])
    hundredths = [q for q, _ in parts]
    for i in order[:missing]:
        hundredths[i] += 1
    return [h / 100 for h in hundredths]


def tenant_answer(t: TenantQuery, current: list[Distribution], previous: list[Distribution],
                  credits_per_usd: float) -> dict:
    """GET /api/v1/statistics: `current` is grouped by (flow, bucket), `previous` is one total."""
    flows: dict[object, list[Distribution]] = {}
    buckets: dict[object, Distribution] = {}
    for d in current:
        flows.setdefault(d.key[0], []).append(d)
        total = buckets.setdefault(d.key[1], Distribution((d.key[1],), 0, {m.metric: MetricFigures() for m in SERIES}))
        total.units += d.units
        for name, m in d.metrics.items():
            total.metrics[name].total += m.total
    points = series(t.current, t.bucket, list(buckets.values()), credits_per_usd)
    invocations = sum(p["invocations"] for p in points)
    cost = sum(d.metrics["cost_nanos"].total for d in current)
    tokens = sum(d.metrics["tokens"].total for d in current)
    before = previous[0] if previous else None
    prev_cost = before.metrics["cost_nanos"].total if before else 0
    prev_tokens = before.metrics["tokens"].total if before else 0
    ranked = sorted(flows.items(), key=lambda kv: (-sum(d.units for d in kv[1]), kv[0] is None, str(kv[0])))
    top = ranked[:TOP_FLOWS]
    top_counts = [sum(d.units for d in ds) for _, ds in top]
    flow_series = []
    for flow, ds in top:
        per = {d.key[1]: d.units for d in ds}
        flow_series.append({"flow": flow, "invocations": sum(per.values()),
                            "points": [{"time": iso_ms(s), "invocations": per.get(s, 0)}
                                       for s in bucket_starts(t.current, t.bucket)]})
    return {
        "period": t.period, "resolution": t.resolution, **_window(t.current),
        "previousFrom": iso_ms(t.previous.start_ms), "previousTo": iso_ms(t.previous.end_ms),
        "invocations": _change(invocations, before.units if before else 0),
        "costUsd": _change(_usd(cost) or 0, _usd(prev_cost) or 0),
        "credits": _change(_usd(cost * credits_per_usd) or 0, _usd(prev_cost * credits_per_usd) or 0),
        "tokens": _change(int(tokens), int(prev_tokens)),
        "invocationSeries": [{"time": p["time"], "invocations": p["invocations"]} for p in points],
        "flowSeries": flow_series,
        "costSeries": [{"time": p["time"], "costUsd": p["costUsd"], "costCredits": p["costCredits"]} for p in points],
        "tokenSeries": [{k: p[k] for k in ("time", "tokensIn", "tokensOut", "tokens")} for p in points],
        "topFlows": [{"flow": flow, "invocations": n, "percent": pct}
                     for (flow, _), n, pct in zip(top, top_counts, _of_total(top_counts, invocations), strict=True)],
    }


def _of_total(counts: list[int], total: int) -> list[float | None]:
    """Shares of a total that the listed counts need not exhaust (the top flows of more)."""
    return [round(c * 100 / total, 2) if total else None for c in counts]


def overview_answer(f: LogFilter, by_model: list[Distribution], by_flow: list[Distribution],
                    credits_per_usd: float) -> dict:
    """Cost and requests (calls) by model and by flow, with shares of the total (`shares`)."""
    def breakdown(name: str, groups: list[Distribution]) -> list[dict]:
        costs = [int(d.metrics["cost_nanos"].total) for d in groups]
        counts = [d.units for d in groups]
        return [{name: d.key[0], "requests": d.units, "requestsPercent": rp, "costUsd": _usd(cost),
                 "costCredits": _usd(cost * credits_per_usd), "costPercent": cp}
                for d, cost, rp, cp in zip(groups, costs, shares(counts), shares(costs), strict=True)]
    cost = sum(int(d.metrics["cost_nanos"].total) for d in by_model)
    return {**_window(f), "totalRequests": sum(d.units for d in by_model), "totalCostUsd": _usd(cost),
            "totalCostCredits": _usd(cost * credits_per_usd),
            "byModel": breakdown("model", by_model), "byFlow": breakdown("flow", by_flow)}
