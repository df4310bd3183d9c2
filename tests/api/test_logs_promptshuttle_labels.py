"""PromptShuttle's call labels (flow, customer, agent role) set by control headers, through the
proxy: stripped before forwarding, stored, shown on /v1/logs entries, filterable, exported."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from tests.conftest import CHAT, chat_body, flushed

pytestmark = pytest.mark.backends

LABELS = {"x-llmlog-flow": "flow", "x-llmlog-customer": "customer_id", "x-llmlog-agent-role": "agent_role"}


async def call(proxy, content: str, **headers: str) -> str:
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    resp = await proxy.post(CHAT, data=chat_body(content), headers={"Content-Type": "application/json", **sent})
    assert resp.status == 200, await resp.text()
    await resp.read()
    await asyncio.sleep(0.002)  # the next call starts in a later millisecond: calls of one are listed by id
    return resp.headers["x-llmlog-id"]


async def ids_for(proxy, params) -> list[str]:
    resp = await proxy.get("/v1/logs", params=params)
    assert resp.status == 200, await resp.text()
    return [e["id"] for e in (await resp.json())["logs"]]


async def test_labels_are_stored_stripped_shown_and_filtered(proxy, fake):
    a = await call(proxy, "plan", x_llmlog_flow="trip-planner", x_llmlog_customer="cust-1",
                   x_llmlog_agent_role="planner")
    b = await call(proxy, "book", x_llmlog_flow="trip-planner", x_llmlog_customer="cust-2",
                   x_llmlog_agent_role="booker")
    c = await call(proxy, "chat", x_llmlog_flow="support")
    d = await call(proxy, "plain")
    await flushed(proxy)
    for received in fake.received:  # the provider never sees them
        assert not {name.lower() for name, _ in received["headers"]} & set(LABELS)

    entry = await (await proxy.get(f"/v1/logs/{a}")).json()
    assert (entry["flow"], entry["customer_id"], entry["agent_role"]) == ("trip-planner", "cust-1", "planner")
    listed = {e["id"]: e for e in (await (await proxy.get("/v1/logs")).json())["logs"]}
    assert [(listed[i]["flow"], listed[i]["customer_id"], listed[i]["agent_role"]) for i in (a, b, c, d)] == [
        ("trip-planner", "cust-1", "planner"), ("trip-planner", "cust-2", "booker"), ("support", None, None),
        (None, None, None)]

    asc = {"sort_order": "asc"}
    assert await ids_for(proxy, {**asc, "flow": "trip-planner"}) == [a, b]
    assert await ids_for(proxy, [("sort_order", "asc"), ("flow", "support"), ("flow", "trip-planner")]) == [a, b, c]
    assert await ids_for(proxy, {**asc, "flow": "support,trip-planner", "customer_id": "cust-2"}) == [b]
    assert await ids_for(proxy, {**asc, "customer_id": "cust-1,cust-2"}) == [a, b]
    assert await ids_for(proxy, {**asc, "agent_role": "booker"}) == [b]
    assert await ids_for(proxy, {"flow": "nope"}) == []

    resp = await proxy.get("/v1/logs/export", params={"format": "jsonl", "fields": "id,flow,customer_id,agent_role",
                                                      "flow": "trip-planner"})
    assert resp.status == 200
    rows = [orjson.loads(line) for line in (await resp.read()).splitlines()]
    assert rows == [{"id": a, "flow": "trip-planner", "customer_id": "cust-1", "agent_role": "planner"},
                    {"id": b, "flow": "trip-planner", "customer_id": "cust-2", "agent_role": "booker"}]


async def test_an_overlong_label_is_refused_before_forwarding(proxy, fake):
    resp = await proxy.post(CHAT, data=chat_body("x"), headers={"x-llmlog-flow": "f" * 257})
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == "x-llmlog-flow"
    assert fake.received == []


TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
         {"type": "function", "function": {"name": "book", "parameters": {"type": "object"}}}]
EXPECTED_CALLS = [{"id": "call_fake0", "type": "function", "name": "search", "arguments": '{"about":"find a hotel"}'},
                  {"id": "call_fake1", "type": "function", "name": "book", "arguments": '{"about":"find a hotel"}'}]


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls_are_on_the_entry_and_their_count_survives_do_not_track(proxy, stream):
    ids = []
    for extra in ({}, {"x-debug": "false"}):
        resp = await proxy.post(CHAT, data=chat_body("find a hotel", tools=TOOLS, stream=stream), headers=extra)
        assert resp.status == 200
        await resp.read()
        ids.append(resp.headers["x-llmlog-id"])
    plain = await call(proxy, "no tools")
    await flushed(proxy)
    kept, untracked = [await (await proxy.get(f"/v1/logs/{i}")).json() for i in ids]
    assert kept["tool_calls"] == EXPECTED_CALLS and kept["tool_call_count"] == 2
    assert kept["finish_reason"] == "tool_calls" and kept["citations"] == []
    assert untracked["tool_call_count"] == 2 and "tool_calls" not in untracked
    assert untracked["finish_reason"] == "tool_calls"
    none = await (await proxy.get(f"/v1/logs/{plain}")).json()
    assert none["tool_calls"] == [] and none["tool_call_count"] == 0
    listed = {e["id"]: e["tool_call_count"] for e in (await (await proxy.get("/v1/logs")).json())["logs"]}
    assert listed == {ids[0]: 2, ids[1]: 2, plain: 0}
    resp = await proxy.get("/v1/logs/export", params={"format": "jsonl", "fields": "id,tool_call_count,tool_calls"})
    rows = {r["id"]: r for r in map(orjson.loads, (await resp.read()).splitlines())}
    assert rows[ids[0]] == {"id": ids[0], "tool_call_count": 2, "tool_calls": EXPECTED_CALLS}
    assert rows[ids[1]] == {"id": ids[1], "tool_call_count": 2, "tool_calls": []}
