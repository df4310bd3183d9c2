"""PromptShuttle's analytics (seeds/001) driven as its document shows: GET /api/v1/statistics/flow/
{flowName} and its /request, /tree and /extended levels, GET /api/v1/statistics?period=&resolution=
and /overview, against calls made through the proxy with known labels: two flows, three models, an
agent tree four levels deep (depth 3) built with x-llmlog-parent-id, tool calls in answers, failures.
Every expected figure is worked out here from the calls as GET /v1/logs lists them, on both backends."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson
import pytest

from tests.api.seeds.test_promptshuttle_logs import get, labels
from tests.conftest import CHAT, chat_body, flushed

pytestmark = pytest.mark.backends


@pytest.fixture
def build(two_providers):
    """The invocation log tests' proxy: the fake OpenAI upstream at `/`, the fake Anthropic at `/anthropic`."""
    return two_providers


STATS = "/api/v1/statistics"
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("search", "book")]
TOKEN_EDGES = (0, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000)
LATENCY_EDGES = (0, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000)
AGENT_EDGES = (1, 2, 3, 4, 5, 10, 20, 50, 100)


def rank(values: list, p: int):
    """Nearest rank: the value at 1-based rank ceil(p/100 * n) of the sorted values."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] if ordered else None


def pcts(values: list, scale=lambda v: v) -> dict:
    return {f"p{p}": None if not values else scale(rank(values, p)) for p in (50, 90, 95, 99)}


def histogram(values: list, edges: tuple) -> list[dict]:
    counts = [0] * len(edges)
    for v in values:
        counts[max(i for i, e in enumerate(edges) if v >= e or i == 0)] += 1
    return [{"from": e, "to": edges[i + 1] if i + 1 < len(edges) else None, "count": counts[i]}
            for i, e in enumerate(edges)]


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


async def call(proxy, content: str, headers: dict, model: str = "gpt-4o-mini", tools=None) -> str:
    extra = {"tools": tools} if tools else {}
    resp = await proxy.post(CHAT, data=chat_body(content, model=model, **extra), headers=headers)
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def failed(proxy, headers: dict) -> str:
    resp = await proxy.post(CHAT, data=orjson.dumps({"model": "bad-model", "messages": []}), headers=headers)
    assert resp.status == 400
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def make_calls(proxy) -> dict[str, str]:
    """Flow `trip`: a tree root ─┬─ hotel (gpt-4o, 1 tool call)
                                  └─ flight ─ seat ─ confirm (gpt-4o, depth 3); the root (gpt-4o-mini)
    asked for 2 tool calls;
    a lone gpt-4o request and a failed one. Flow `support`: two calls, one failed. One call with no flow."""
    trip = labels("trip")
    ids = {"root": await call(proxy, "plan a trip to Rome", trip, tools=TOOLS)}
    await flushed(proxy)
    ids["hotel"] = await call(proxy, "find a hotel near the station please", labels("trip", parent=ids["root"]),
                              model="gpt-4o", tools=TOOLS[:1])
    ids["flight"] = await call(proxy, "find a flight", labels("trip", parent=ids["root"]))
    await flushed(proxy)
    ids["seat"] = await call(proxy, "pick a window seat", labels("trip", parent=ids["flight"]))
    await flushed(proxy)
    ids["confirm"] = await call(proxy, "confirm it", labels("trip", parent=ids["seat"]), model="gpt-4o")
    ids["lone"] = await call(proxy, "how warm is Rome in May", trip, model="gpt-4o")
    ids["broken"] = await failed(proxy, trip)
    ids["help"] = await call(proxy, "reset my password", labels("support"))
    ids["help-failed"] = await failed(proxy, labels("support"))
    ids["plain"] = await call(proxy, "no flow here", {})
    await flushed(proxy)
    return ids


async def logged(proxy) -> dict[str, dict]:
    logs = (await get(proxy, "/v1/logs", {"limit": "100"}))["logs"]
    return {e["id"]: e for e in logs}


def timeless(answer: dict) -> dict:
    """An answer without its window (`to` defaults to now, which moves between two requests)."""
    return {k: v for k, v in answer.items() if k not in ("from", "to")}


def usd(nanos):
    return None if nanos is None else nanos / 1_000_000_000


def of(entries, key):
    return [e[key] for e in entries if e[key] is not None]


async def test_per_inference_stats_by_model(build):
    proxy = await build()
    ids = await make_calls(proxy)
    entries = await logged(proxy)
    trip = [entries[i] for n, i in ids.items() if n not in ("help", "help-failed", "plain")]
    answer = await get(proxy, f"{STATS}/flow/trip")
    assert answer["flow"] == "trip" and answer["invocations"] == 7
    by_model: dict[str, list[dict]] = {}
    for e in trip:
        by_model.setdefault(e["model"], []).append(e)
    # busiest first, ties by name: gpt-4o (hotel, confirm, lone), gpt-4o-mini (root, flight, seat), bad-model
    assert [m["model"] for m in answer["models"]] == ["gpt-4o", "gpt-4o-mini", "bad-model"]
    for got in answer["models"]:
        calls = by_model[got["model"]]
        tokens_in, tokens_out = of(calls, "input_tokens"), of(calls, "output_tokens")
        latency, cost = of(calls, "duration_ms"), of(calls, "cost_nanos")
        assert got["invocations"] == len(calls)
        assert got["failed"] == sum(e["status"] != "success" for e in calls)
        assert got["avgTokensIn"] == (round(sum(tokens_in) / len(tokens_in), 2) if tokens_in else None)
        assert got["avgTokensOut"] == (round(sum(tokens_out) / len(tokens_out), 2) if tokens_out else None)
        assert got["avgLatencyMs"] == round(sum(latency) / len(latency), 3)
        assert got["totalCostUsd"] == (usd(sum(cost)) if cost else None)
        assert got["avgCostUsd"] == (usd(sum(cost) / len(cost)) if cost else None)
        assert got["tokensIn"] == pcts(tokens_in) and got["tokensOut"] == pcts(tokens_out)
        assert got["latencyMs"] == pcts(latency)
        assert got["costUsd"] == pcts(cost, usd)
        assert got["tokenHistogram"] == histogram(of(calls, "total_tokens"), TOKEN_EDGES)
        assert got["latencyHistogram"] == histogram(latency, LATENCY_EDGES)
    mini = answer["models"][1]  # 9 tokens and one a word: flight 12, seat 13, root 14
    assert mini["failed"] == 0 and mini["tokensIn"] == {"p50": 13, "p90": 14, "p95": 14, "p99": 14}
    assert sum(b["count"] for b in mini["tokenHistogram"]) == 3
    assert answer["models"][2]["failed"] == 1
    # another flow, and a flow nobody used
    support = await get(proxy, f"{STATS}/flow/support")
    assert support["invocations"] == 2 and {m["model"] for m in support["models"]} == {"gpt-4o-mini", "bad-model"}
    assert (await get(proxy, f"{STATS}/flow/nobody"))["models"] == []


async def test_per_request_and_per_tree(build):
    proxy = await build()
    ids = await make_calls(proxy)
    entries = await logged(proxy)
    tree_names = ("root", "hotel", "flight", "seat", "confirm")
    tree = [entries[ids[n]] for n in tree_names]
    assert {e["root_id"] for e in tree} == {ids["root"]} and entries[ids["confirm"]]["depth"] == 3
    units = {"tree": tree, "lone": [entries[ids["lone"]]], "broken": [entries[ids["broken"]]]}
    cost = {k: sum(of(v, "cost_nanos")) if of(v, "cost_nanos") else None for k, v in units.items()}
    tools = {k: sum(e["tool_call_count"] or 0 for e in v) for k, v in units.items()}
    assert tools == {"tree": 3, "lone": 0, "broken": 0}
    wall = {k: max(ms(e["completed_at"]) for e in v) - min(ms(e["started_at"]) for e in v) for k, v in units.items()}

    answer = await get(proxy, f"{STATS}/flow/trip/request")
    assert answer["requests"] == 3
    known = [c for c in cost.values() if c is not None]
    assert answer["totalCostUsd"] == usd(sum(known))
    assert answer["costUsd"] == pcts(known, usd)
    assert answer["totalFunctionCalls"] == 3 and answer["functionCalls"] == pcts([3, 0, 0])
    assert answer["avgFunctionCalls"] == 1.0 and answer["avgCalls"] == round(7 / 3, 3)
    assert answer["latencyMs"] == pcts(list(wall.values()))
    assert answer["latencyHistogram"] == histogram(list(wall.values()), LATENCY_EDGES)
    # primary model: the root's; ties in request count broken by name
    assert [(m["primaryModel"], m["requests"]) for m in answer["byPrimaryModel"]] == [
        ("bad-model", 1), ("gpt-4o", 1), ("gpt-4o-mini", 1)]
    mini = answer["byPrimaryModel"][2]
    assert mini["totalCostUsd"] == usd(cost["tree"]) and mini["totalFunctionCalls"] == 3
    assert mini["avgCalls"] == 5 and mini["latencyMs"] == pcts([wall["tree"]])

    trees = await get(proxy, f"{STATS}/flow/trip/tree")
    assert trees["trees"] == 3 and trees["totalAgents"] == 7 and trees["maxDepth"] == 3
    assert trees["agentCount"] == pcts([5, 1, 1]) and trees["avgAgentCount"] == round(7 / 3, 3)
    assert trees["avgMaxDepth"] == 1.0
    assert trees["costUsd"] == pcts(known, usd) and trees["totalCostUsd"] == usd(sum(known))
    assert [(b["from"], b["count"]) for b in trees["depthDistribution"] if b["count"]] == [(0, 2), (3, 1)]
    assert len(trees["depthDistribution"]) == 11 and trees["depthDistribution"][-1] == {"from": 10, "to": None,
                                                                                        "count": 0}
    assert trees["agentCountDistribution"] == histogram([5, 1, 1], AGENT_EDGES)

    extended = await get(proxy, f"{STATS}/flow/trip/extended", {"resolution": "Hour"})
    assert timeless(extended["perRequest"]) == timeless(answer) and timeless(extended["perTree"]) == timeless(trees)
    assert timeless(extended["perInference"]) == timeless(await get(proxy, f"{STATS}/flow/trip"))
    points = extended["timeSeries"]["points"]
    assert extended["timeSeries"]["resolution"] == "Hour" and len(points) in (168, 169)
    assert sum(p["invocations"] for p in points) == 7
    trip_cost = sum(of(tree + units["lone"] + units["broken"], "cost_nanos"))
    assert sum(round(p["costUsd"] * 1e9) for p in points) == trip_cost


async def test_tenant_statistics_against_the_previous_period(build):
    """Ten calls, then four more: a day-long period starting at the fifth batch's first call holds
    the four, and the day before it the ten."""
    proxy = await build("[logs_api]\ncredits_per_usd = 2.5\n")
    before = set((await make_calls(proxy)).values())
    after = [await call(proxy, "book it", labels("trip")), await call(proxy, "and the return", labels("trip")),
             await call(proxy, "invoice please", labels("billing"), model="gpt-4o"),
             await failed(proxy, labels("billing"))]
    await flushed(proxy)
    entries = await logged(proxy)
    split = min(ms(entries[i]["started_at"]) for i in after)
    assert all(ms(entries[i]["started_at"]) < split for i in before)
    now, then = [entries[i] for i in after], [entries[i] for i in before]
    to = datetime.fromtimestamp((split + 86_400_000) / 1000, UTC).isoformat().replace("+00:00", "Z")
    answer = await get(proxy, STATS, {"period": "1.00:00:00", "resolution": "Hour", "to": to})
    assert answer["period"] == "1.00:00:00" and answer["resolution"] == "Hour"
    assert ms(answer["from"]) == split and ms(answer["to"]) == split + 86_400_000
    assert (ms(answer["previousFrom"]), answer["previousTo"]) == (split - 86_400_000, answer["from"])
    assert answer["invocations"] == {"current": 4, "previous": 10, "changePercent": -60.0}
    cost_now, cost_then = sum(of(now, "cost_nanos")), sum(of(then, "cost_nanos"))
    change = round((usd(cost_now) - usd(cost_then)) * 100 / usd(cost_then), 2)
    assert answer["costUsd"] == {"current": usd(cost_now), "previous": usd(cost_then), "changePercent": change}
    assert answer["credits"]["current"] == usd(cost_now * 2.5) and answer["credits"]["previous"] == usd(cost_then * 2.5)
    tokens_now, tokens_then = sum(of(now, "total_tokens")), sum(of(then, "total_tokens"))
    assert answer["tokens"] == {"current": tokens_now, "previous": tokens_then,
                                "changePercent": round((tokens_now - tokens_then) * 100 / tokens_then, 2)}
    assert answer["topFlows"] == [{"flow": "billing", "invocations": 2, "percent": 50.0},
                                  {"flow": "trip", "invocations": 2, "percent": 50.0}]
    points = answer["invocationSeries"]
    # every hour the day touches, from the one holding `from`; the four calls are in its first (or two)
    assert len(points) == (24 if split % 3_600_000 == 0 else 25)
    assert ms(points[0]["time"]) == split // 3_600_000 * 3_600_000
    assert sum(p["invocations"] for p in points[:2]) == 4 == sum(p["invocations"] for p in points)
    assert [s["flow"] for s in answer["flowSeries"]] == ["billing", "trip"]
    assert [[p["time"] for p in s["points"]] for s in answer["flowSeries"]] == [[p["time"] for p in points]] * 2
    assert [sum(p["invocations"] for p in s["points"]) for s in answer["flowSeries"]] == [2, 2]
    assert sum(round(p["costUsd"] * 1e9) for p in answer["costSeries"]) == cost_now
    assert sum(p["tokensIn"] for p in answer["tokenSeries"]) == sum(of(now, "input_tokens"))
    # the previous period alone: its top flows, the one before it empty
    earlier = await get(proxy, STATS, {"period": "1.00:00:00", "resolution": "Day", "to": answer["from"]})
    assert earlier["invocations"] == {"current": 10, "previous": 0, "changePercent": None}
    assert earlier["topFlows"] == [{"flow": "trip", "invocations": 7, "percent": 70.0},
                                   {"flow": "support", "invocations": 2, "percent": 20.0},
                                   {"flow": None, "invocations": 1, "percent": 10.0}]
    assert sum(round(p["costUsd"] * 1e9) for p in earlier["costSeries"]) == cost_then


async def test_overview_percentages(build):
    proxy = await build("[logs_api]\ncredits_per_usd = 100\n")
    await make_calls(proxy)
    entries = list((await logged(proxy)).values())
    answer = await get(proxy, f"{STATS}/overview")
    cost = sum(of(entries, "cost_nanos"))
    assert answer["totalRequests"] == 10 and answer["totalCostUsd"] == usd(cost)
    assert answer["totalCostCredits"] == usd(cost * 100)
    # gpt-4o-mini: root, flight, seat, help, plain; gpt-4o: hotel, confirm, lone; bad-model: two failures
    assert [(m["model"], m["requests"], m["requestsPercent"]) for m in answer["byModel"]] == [
        ("gpt-4o-mini", 5, 50.0), ("gpt-4o", 3, 30.0), ("bad-model", 2, 20.0)]
    assert [(m["flow"], m["requests"], m["requestsPercent"]) for m in answer["byFlow"]] == [
        ("trip", 7, 70.0), ("support", 2, 20.0), (None, 1, 10.0)]
    for breakdown, key in ((answer["byModel"], "model"), (answer["byFlow"], "flow")):
        assert round(sum(m["costPercent"] for m in breakdown), 2) == 100.0
        for m in breakdown:
            nanos = sum(of([e for e in entries if e[key] == m[key]], "cost_nanos"))
            assert m["costUsd"] == usd(nanos)
            assert abs(m["costPercent"] - nanos * 100 / cost) < 0.01  # rounded to two decimals
    assert [m["costPercent"] for m in answer["byModel"] if m["model"] == "bad-model"] == [0.0]


async def test_thirds_sum_to_one_hundred(build):
    """Three flows of one call each: 33.34 + 33.33 + 33.33 by the largest remainder, not 99.99."""
    proxy = await build()
    for flow in ("a", "b", "c"):
        await call(proxy, "same words", labels(flow))
    await flushed(proxy)
    answer = await get(proxy, f"{STATS}/overview")
    assert [(m["flow"], m["requestsPercent"]) for m in answer["byFlow"]] == [("a", 33.34), ("b", 33.33),
                                                                             ("c", 33.33)]
    assert [m["costPercent"] for m in answer["byFlow"]] == [33.34, 33.33, 33.33]


@pytest.mark.parametrize(("params", "named"), [
    ({"period": "7"}, "period"), ({"period": "7.24:00:00"}, "period"), ({"period": "1:60:00"}, "period"),
    ({"period": "00:00:00"}, "period"), ({"period": "-1.00:00:00"}, "period"), ({"period": "7d"}, "period"),
    ({"period": "1.00:00"}, "period"), ({"period": "٧.00:00:00"}, "period"),  # digits are ASCII ones
    ({"resolution": "Minutes1"}, "resolution"),
    ({"period": "365.00:00:00", "resolution": "Minutes5"}, "resolution"), ({"periods": "1"}, "periods"),
])
async def test_tenant_parameters_are_checked(build, params, named):
    proxy = await build()
    resp = await proxy.get(STATS, params=params)
    assert resp.status == 400
    assert named in (await resp.json())["error"]["message"]


async def test_timespans_and_windows_that_parse(build):
    proxy = await build()
    for period, resolution in (("01:00:00", "Minutes5"), ("1.00:00:00", "minutes15"), ("30.00:00:00", "Week"),
                               ("00:30:00.5", "Hour")):
        answer = await get(proxy, STATS, {"period": period, "resolution": resolution})
        assert answer["invocations"]["current"] == 0
    day = {"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"}
    for path in ("", "/request", "/tree", "/extended"):
        answer = await get(proxy, f"{STATS}/flow/trip{path}", day)
        assert (answer["from"], answer["to"]) == ("2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z"), path
    answer = await get(proxy, f"{STATS}/flow/trip/extended", {**day, "resolution": "Hour"})
    assert len(answer["timeSeries"]["points"]) == 24 and answer["timeSeries"]["points"][0] == {
        "time": "2024-01-01T00:00:00.000Z", "invocations": 0, "costUsd": 0.0, "costCredits": 0.0,
        "tokensIn": 0, "tokensOut": 0, "tokens": 0}
    assert (await get(proxy, f"{STATS}/overview", day))["from"] == "2024-01-01T00:00:00.000Z"
    for path, params, named in ((f"{STATS}/flow/trip", {"flowName": "x"}, "flowName"),
                                (f"{STATS}/flow/trip/tree", {"from": "yesterday"}, "from"),
                                (f"{STATS}/flow/trip/extended", {"resolution": "Year"}, "resolution"),
                                (f"{STATS}/overview", {"start_date": "-1d"}, "start_date")):
        resp = await proxy.get(path, params=params)
        assert resp.status == 400 and named in (await resp.json())["error"]["message"], path


async def test_statistics_are_local_and_keyed(build, fake):
    proxy = await build('[logs_api]\napi_keys = ["stats-key-0123456789"]\n')
    for path in (STATS, f"{STATS}/overview", f"{STATS}/flow/trip", f"{STATS}/flow/trip/request",
                 f"{STATS}/flow/trip/tree", f"{STATS}/flow/trip/extended"):
        assert (await proxy.get(path)).status == 401, path
        assert (await proxy.get(path, headers={"Authorization": "Bearer stats-key-0123456789"})).status == 200
    for path, status in ((f"{STATS}/flow", 404), (f"{STATS}/flow/trip/other", 404), (f"{STATS}/nothing", 404)):
        resp = await proxy.get(path, headers={"Authorization": "Bearer stats-key-0123456789"})
        assert resp.status == status, path
    resp = await proxy.post(f"{STATS}/overview", headers={"Authorization": "Bearer stats-key-0123456789"})
    assert resp.status == 405
    assert fake.received == []  # not one of them went upstream
