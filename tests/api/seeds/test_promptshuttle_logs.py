"""PromptShuttle's invocation log (seeds/001) driven as its document shows: GET /api/v1/llm-logs
with its parameters, /{id}/hierarchy, /{id}/events (?types=), /{id}/events/stats, against an
agent tree made through the proxy (x-llmlog-parent-id) with known labels, on both backends."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from tests.conftest import CHAT, chat_body, flushed
from tests.fakes.fake_providers import ANTHROPIC_USAGE

pytestmark = pytest.mark.backends
LOGS = "/api/v1/llm-logs"
KEY = "ps-logs-key-0123456789"


@pytest.fixture
def build(two_providers):
    """A proxy with the fake OpenAI upstream at `/` and the fake Anthropic at `/anthropic`."""
    return two_providers


def labels(flow=None, env=None, customer=None, role=None, tags=None, parent=None, **more) -> dict:
    sent = {"x-llmlog-flow": flow, "x-llmlog-environment": env, "x-llmlog-customer": customer,
            "x-llmlog-agent-role": role, "x-llmlog-tags": tags, "x-llmlog-parent-id": parent, **more}
    return {k: v for k, v in sent.items() if v is not None}


async def chat(proxy, content: str, headers: dict, **extra) -> str:
    resp = await proxy.post(CHAT, data=chat_body(content, **extra), headers=headers)
    await resp.read()
    await asyncio.sleep(0.002)  # the next call starts in a later millisecond: calls of one are listed by id
    return resp.headers["x-llmlog-id"]


async def claude_stream(proxy, content: str, headers: dict) -> str:
    body = orjson.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True,
                         "system": "You book hotels.", "messages": [{"role": "user", "content": content}]})
    resp = await proxy.post("/anthropic/v1/messages", data=body, headers=headers)
    assert resp.status == 200
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def make_tree(proxy) -> dict[str, str]:
    """root ─┬─ hotel (streamed Claude) ; root ─ flight ─ seat; then a failed support call and an
    untracked call, each level stored before its children are made."""
    ids = {"root": await chat(proxy, "plan a trip to Rome", labels("trip", "prod", "cust-1", "planner", "a"),
                              temperature=0.2, max_tokens=50)}
    await flushed(proxy)
    ids["hotel"] = await claude_stream(proxy, "find a hotel", labels("trip", "prod", "cust-1", "booker", "b",
                                                                     parent=ids["root"]))
    ids["flight"] = await chat(proxy, "find a flight", labels("trip", "staging", None, "booker", "a,b",
                                                              parent=ids["root"]))
    await flushed(proxy)
    ids["seat"] = await chat(proxy, "pick a seat", labels("trip", None, None, "checker", parent=ids["flight"]))
    ids["support"] = await proxy_failed(proxy, labels("support", "prod", "cust-2", "agent", "c"))
    ids["quiet"] = await chat(proxy, "secret plans", {"x-debug": "false", "x-llmlog-flow": "support"})
    await flushed(proxy)
    return ids


async def proxy_failed(proxy, headers: dict) -> str:
    resp = await proxy.post(CHAT, data=orjson.dumps({"model": "bad-model", "messages": []}), headers=headers)
    assert resp.status == 400
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def get(proxy, path: str, params=None, status: int = 200) -> dict:
    resp = await proxy.get(path, params=params)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def newest_first(proxy, names: dict[str, str]) -> list[str]:
    """llmlog's own order of these calls (started_at, then id, newest first), as /v1/logs tells it."""
    logs = (await get(proxy, "/v1/logs", {"limit": "100"}))["logs"]
    by_id = {e["id"]: e for e in logs}
    order = sorted(names.values(), key=lambda i: (by_id[i]["started_at"], i), reverse=True)
    back = {v: k for k, v in names.items()}
    return [back[i] for i in order]


async def listed(proxy, names, params=None) -> list[str]:
    back = {v: k for k, v in names.items()}
    return [back[e["id"]] for e in (await get(proxy, LOGS, params))["items"]]


async def test_the_log_its_fields_pages_and_filters(build):
    proxy = await build()
    ids = await make_tree(proxy)
    order = await newest_first(proxy, ids)
    whole = await get(proxy, LOGS)
    assert [e["id"] for e in whole["items"]] == [ids[n] for n in order]
    assert whole["totalCount"] == 6 and whole["hasMore"] is False and whole["nextCursor"] is None

    items = {e["id"]: e for e in whole["items"]}
    own = {e["id"]: e for e in (await get(proxy, "/v1/logs", {"limit": "100"}))["logs"]}
    root = items[ids["root"]]
    words = len("plan a trip to Rome".split())
    assert root["status"] == "Succeeded" and root["statusCode"] == 200 and root["flow"] == "trip"
    assert root["request"] == {"messages": [{"role": "user", "content": "plan a trip to Rome"}],
                               "model": "gpt-4o-mini", "parameters": {"temperature": 0.2, "max_tokens": 50},
                               "environment": "prod", "tags": ["a"]}
    assert root["response"] == {"text": "Echo: plan a trip to Rome", "model": "gpt-4o-mini-2024-07-18",
                                "toolCalls": [], "toolCallCount": 0, "citations": [], "finishReason": "stop"}
    cost = own[ids["root"]]["cost_usd"]
    assert cost > 0
    assert root["usage"] == {"tokensIn": 9 + words, "tokensOut": words + 1, "reasoningTokens": 0,
                             "cachedTokensIn": 0, "totalTokens": 9 + 2 * words + 1, "costUsd": cost,
                             "costCredits": cost, "priced": True}
    assert root["timing"]["durationMs"] == own[ids["root"]]["duration_ms"]
    assert root["hierarchy"] == {"parentRequestId": None, "rootRequestId": ids["root"], "depth": 0,
                                 "agentRole": "planner"}
    assert root["customer"] == {"id": "cust-1", "externalId": "cust-1"} and root["customerId"] == "cust-1"
    assert root["feedback"] is None and root["feedbackScore"] is None

    hotel = items[ids["hotel"]]
    assert hotel["request"]["messages"] == [{"role": "system", "content": "You book hotels."},
                                            {"role": "user", "content": "find a hotel"}]
    assert hotel["request"]["parameters"] == {"max_tokens": 64, "stream": True}
    assert hotel["response"]["text"] == "Hello from a fake Claude reply."
    assert hotel["response"]["finishReason"] == "end_turn"
    assert hotel["usage"]["tokensIn"] == sum(ANTHROPIC_USAGE[k] for k in ("input_tokens", "cache_read_input_tokens",
                                                                           "cache_creation_input_tokens"))
    assert hotel["hierarchy"] == {"parentRequestId": ids["root"], "rootRequestId": ids["root"], "depth": 1,
                                  "agentRole": "booker"}
    seat = items[ids["seat"]]
    assert seat["hierarchy"] == {"parentRequestId": ids["flight"], "rootRequestId": ids["root"], "depth": 2,
                                 "agentRole": "checker"}
    support = items[ids["support"]]
    assert support["status"] == "Failed" and support["statusCode"] == 400 and "bad-model" in support["error"]
    quiet = items[ids["quiet"]]  # do-not-track: no content, the metrics stay
    assert quiet["request"]["messages"] is None and quiet["response"]["text"] is None
    assert quiet["response"]["toolCalls"] is None and quiet["usage"]["tokensIn"] == 9 + 2

    # a cursor walk, two per page, meets every call once, in order
    walked, cursor, pages = [], None, 0
    while True:
        page = await get(proxy, LOGS, {"pageSize": "2", **({"cursor": cursor} if cursor else {})})
        walked += [e["id"] for e in page["items"]]
        pages += 1
        assert page["totalCount"] == 6 and len(page["items"]) == 2
        cursor = page["nextCursor"]
        assert page["hasMore"] is (cursor is not None)
        if cursor is None:
            break
    assert walked == [ids[n] for n in order] and pages == 3

    def keep(*names):
        return [n for n in order if n in names]
    assert await listed(proxy, ids, {"flows": "trip"}) == keep("root", "hotel", "flight", "seat")
    assert await listed(proxy, ids, [("flows", "trip"), ("flows", "support")]) == order
    assert await listed(proxy, ids, {"flows": "support"}) == keep("support", "quiet")
    assert await listed(proxy, ids, {"environments": "prod"}) == keep("root", "hotel", "support")
    assert await listed(proxy, ids, {"environments": "staging,prod"}) == keep("root", "hotel", "flight", "support")
    assert await listed(proxy, ids, {"customerId": "cust-1"}) == keep("root", "hotel")
    assert await listed(proxy, ids, {"tags": "b"}) == keep("hotel", "flight")
    assert await listed(proxy, ids, [("tags", "c"), ("tags", "b")]) == keep("hotel", "flight", "support")
    assert await listed(proxy, ids, {"rootOnly": "true"}) == keep("root", "support", "quiet")
    assert await listed(proxy, ids, {"rootOnly": "false"}) == order
    assert await listed(proxy, ids, {"parentRequestId": ids["root"]}) == keep("hotel", "flight")
    assert await listed(proxy, ids, {"parentRequestId": ids["flight"]}) == ["seat"]
    assert await listed(proxy, ids, {"statuses": "Failed"}) == ["support"]
    assert await listed(proxy, ids, {"statuses": "Succeeded"}) == [n for n in order if n != "support"]
    assert await listed(proxy, ids, {"statuses": "Succeeded,Failed"}) == order
    assert await listed(proxy, ids, {"statuses": "Pending"}) == []  # nothing in flight
    assert await listed(proxy, ids, {"flows": "trip", "environments": "prod", "rootOnly": "true"}) == ["root"]
    created = {e["id"]: e["createdAt"] for e in whole["items"]}
    assert await listed(proxy, ids, {"from": created[ids["quiet"]]}) == keep(
        *[n for n in ids if created[ids[n]] >= created[ids["quiet"]]])
    assert await listed(proxy, ids, {"to": created[ids["hotel"]]}) == keep(
        *[n for n in ids if created[ids[n]] < created[ids["hotel"]]])


async def test_hierarchy_events_and_event_stats(build):
    proxy = await build()
    ids = await make_tree(proxy)
    h = await get(proxy, f"{LOGS}/{ids['seat']}/hierarchy")
    assert [n["id"] for n in h["breadcrumb"]] == [ids["root"], ids["flight"], ids["seat"]]
    assert h["parent"]["id"] == ids["flight"] and h["children"] == [] and h["depth"] == 2
    assert h["breadcrumb"][0] == {**h["breadcrumb"][0], "parentRequestId": None, "rootRequestId": ids["root"],
                                  "depth": 0, "status": "Succeeded", "model": "gpt-4o-mini"}
    h = await get(proxy, f"{LOGS}/{ids['root']}/hierarchy")
    assert h["parent"] is None and [n["id"] for n in h["breadcrumb"]] == [ids["root"]]
    assert [n["id"] for n in h["children"]] == [ids["hotel"], ids["flight"]] and h["childrenTotal"] == 2
    assert h["tree"]["requests"] == 4 and h["tree"]["maxDepth"] == 2

    # the streamed Claude answer: message_start, content_block_start, ping, six deltas, block stop,
    # message_delta, message_stop (tests/fakes/fake_providers.py)
    events = await get(proxy, f"{LOGS}/{ids['hotel']}/events")
    assert [e["type"] for e in events["events"]] == ["message_start", "content_block_start", "ping",
                                                     *["content_block_delta"] * 6, "content_block_stop",
                                                     "message_delta", "message_stop"]
    assert events["count"] == 12 and all(e["offsetMs"] >= 0 for e in events["events"])
    assert orjson.loads(events["events"][3]["data"])["delta"]["text"] == "Hello"
    picked = await get(proxy, f"{LOGS}/{ids['hotel']}/events", {"types": "message_start,message_stop"})
    assert [e["type"] for e in picked["events"]] == ["message_start", "message_stop"] and picked["count"] == 2
    stats = await get(proxy, f"{LOGS}/{ids['hotel']}/events/stats")
    assert stats == {"id": ids["hotel"], "total": 12, "counts": {
        "content_block_delta": 6, "content_block_start": 1, "content_block_stop": 1, "message_delta": 1,
        "message_start": 1, "message_stop": 1, "ping": 1}}
    plain = await get(proxy, f"{LOGS}/{ids['root']}/events")
    assert plain == {"id": ids["root"], "count": 0, "events": []}
    notes = await get(proxy, f"{LOGS}/{ids['root']}/log-entries")
    assert notes["items"] == [] and "no internal log entries" in notes["note"]
    for path in ("/NOPE/hierarchy", "/NOPE/events", "/NOPE/events/stats", "/NOPE/log-entries"):
        assert (await get(proxy, LOGS + path, status=404))["error"]["type"] == "not_found_error"


async def test_a_call_in_flight_is_pending(build, fake):
    proxy = await build("[logs_api]\ncredits_per_usd = 100\n")
    fake.header_delay_s = 1.0
    slow = asyncio.ensure_future(chat(proxy, "slow answer please",
                                      labels("trip", "prod", "cust-9", "planner", parent="P-1"), temperature=1))
    pending = []
    for _ in range(100):
        pending = (await get(proxy, LOGS, {"statuses": "Pending"}))["items"]
        if pending:
            break
        await asyncio.sleep(0.02)
    assert len(pending) == 1
    entry = pending[0]
    assert entry["status"] == "Pending" and entry["model"] == "gpt-4o-mini" and entry["response"] is None
    assert entry["request"]["messages"] == [{"role": "user", "content": "slow answer please"}]
    assert entry["request"]["parameters"] == {"temperature": 1}
    assert entry["hierarchy"] == {"parentRequestId": "P-1", "rootRequestId": None, "depth": None,
                                  "agentRole": "planner"}
    assert (entry["flow"], entry["environment"], entry["customerId"]) == ("trip", "prod", "cust-9")
    assert (await get(proxy, LOGS))["items"][0]["id"] == entry["id"]  # the default list shows it first
    for params in ({"flows": "trip"}, {"customerId": "cust-9"}, {"parentRequestId": "P-1"}):
        assert [e["id"] for e in (await get(proxy, LOGS, {**params, "statuses": "Pending"}))["items"]] == [entry["id"]]
    for params in ({"flows": "support"}, {"rootOnly": "true"}, {"statuses": "Succeeded"}, {"tags": "x"}):
        assert (await get(proxy, LOGS, params))["items"] == []
    call_id = await slow
    assert call_id == entry["id"]
    await flushed(proxy)
    assert (await get(proxy, LOGS, {"statuses": "Pending"}))["items"] == []
    done = (await get(proxy, LOGS))["items"]
    assert [e["id"] for e in done] == [call_id] and done[0]["status"] == "Succeeded"
    usage = done[0]["usage"]
    assert usage["costCredits"] == pytest.approx(usage["costUsd"] * 100)


async def test_calls_in_flight_take_places_of_the_page_and_all_count(build, fake):
    """pageSize bounds the items of a page with calls in flight too, and totalCount counts every one
    of them, not only those shown; the stored part walks on from the rows shown, without gaps."""
    proxy = await build()
    stored = [await chat(proxy, f"stored {n}", labels("trip")) for n in range(3)]
    await flushed(proxy)
    fake.header_delay_s = 1.0
    slow = [asyncio.ensure_future(chat(proxy, f"slow {n}", labels("trip"))) for n in range(3)]
    for _ in range(100):
        if len((await get(proxy, LOGS, {"statuses": "Pending"}))["items"]) == 3:
            break
        await asyncio.sleep(0.02)
    first = await get(proxy, LOGS, {"pageSize": "2"})
    assert len(first["items"]) == 2 and first["totalCount"] == 6 and first["hasMore"]
    assert [e["status"] for e in first["items"]] == ["Pending", "Succeeded"]
    seen = [e["id"] for e in first["items"] if e["status"] == "Succeeded"]
    cursor = first["nextCursor"]
    while cursor:
        page = await get(proxy, LOGS, {"pageSize": "2", "cursor": cursor})
        assert len(page["items"]) <= 2
        seen += [e["id"] for e in page["items"]]
        cursor = page["nextCursor"]
    assert seen == stored[::-1]
    wide = await get(proxy, LOGS, {"pageSize": "10"})
    assert [e["status"] for e in wide["items"]] == ["Pending"] * 3 + ["Succeeded"] * 3 and wide["totalCount"] == 6
    await asyncio.gather(*slow)


@pytest.mark.parametrize(("params", "param"), [
    ({"pageSize": "0"}, "pageSize"), ({"pageSize": "1001"}, "pageSize"), ({"pageSize": "x"}, "pageSize"),
    ({"statuses": "Done"}, "statuses"), ({"from": "yesterday"}, "from"), ({"to": "soon"}, "to"),
    ({"rootOnly": "maybe"}, "rootOnly"), ({"cursor": "garbage"}, "cursor"), ({"limit": "5"}, "limit"),
    ({"page_size": "5"}, "page_size"), ({"flow": "trip"}, "flow"), ({"from": "2026-01-02", "to": "2026-01-01"}, "from"),
])
async def test_invalid_parameters_are_400_naming_them(build, params, param):
    proxy = await build()
    body = await get(proxy, LOGS, params, status=400)
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"


async def test_the_logs_key_protects_the_routes_and_nothing_under_them_is_forwarded(build, fake):
    proxy = await build(f'[logs_api]\napi_keys = ["{KEY}"]\n')
    call_id = await chat(proxy, "hello", {})
    await flushed(proxy)
    paths = [LOGS, f"{LOGS}/{call_id}/hierarchy", f"{LOGS}/{call_id}/events", f"{LOGS}/{call_id}/events/stats",
             f"{LOGS}/{call_id}/log-entries"]
    for path in paths:
        assert (await proxy.get(path)).status == 401
        assert (await proxy.get(path, headers={"Authorization": f"Bearer {KEY}"})).status == 200
    auth = {"Authorization": f"Bearer {KEY}"}
    before = len(fake.received)
    assert (await proxy.get(f"{LOGS}/{call_id}", headers=auth)).status == 404
    assert (await proxy.get(f"{LOGS}/{call_id}/nothing", headers=auth)).status == 404
    assert (await proxy.post(LOGS, headers=auth, data=b"{}")).status == 405
    assert (await proxy.get("/API/v1/LLM-logs/x/y", headers=auth)).status == 404
    assert len(fake.received) == before
    listed = await (await proxy.get("/v1/logs", headers=auth)).json()
    assert [e["id"] for e in listed["logs"]] == [call_id]  # none of those was logged as a call


@pytest.mark.parametrize(("statuses", "stored", "pending"), [
    ("Succeeded", ["success"], False), ("Failed", ["error", "timeout", "client_closed"], False),
    ("pending", ["__none__"], True), ("Pending,Failed", ["error", "timeout", "client_closed"], True),
    (None, ["success", "error", "timeout", "client_closed"], True),
    ("timeout,Succeeded", ["success", "timeout"], False),  # llmlog's own statuses are understood too
])
def test_statuses_map_onto_llmlogs(statuses, stored, pending):
    from multidict import MultiDict

    from llmlog.proxy.api.seeds.promptshuttle_logs import parse_query
    query = parse_query(MultiDict({"statuses": statuses} if statuses else {}), 0)
    assert (query.f.statuses, query.pending, query.stored) == (stored, pending, stored != ["__none__"])
