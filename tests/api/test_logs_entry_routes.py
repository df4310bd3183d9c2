"""Hierarchy, stream events and feedback of one entry, through the running proxy."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import chat_body, flushed

pytestmark = pytest.mark.backends

CHAT = "/v1/chat/completions"


async def call(proxy, content: str, parent: str | None = None, **extra) -> str:
    headers = {"Content-Type": "application/json"}
    if parent:
        headers["x-llmlog-parent-id"] = parent
    resp = await proxy.post(CHAT, data=chat_body(content, **extra), headers=headers)
    assert resp.status == 200
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def test_three_level_tree_made_through_the_proxy(proxy):
    root = await call(proxy, "plan the trip")
    await flushed(proxy)  # children may also share the parent's batch; both orders are covered below
    child_a = await call(proxy, "book a flight", parent=root)
    child_b = await call(proxy, "book a hotel", parent=root)
    grandchild = await call(proxy, "compare hotel prices", parent=child_b)
    await flushed(proxy)
    entries = {}
    for call_id in (root, child_a, child_b, grandchild):
        entries[call_id] = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    assert [entries[i]["depth"] for i in (root, child_a, child_b, grandchild)] == [0, 1, 1, 2]
    assert {entries[i]["root_id"] for i in entries} == {root}
    expected_nanos = sum(e["cost_nanos"] for e in entries.values())  # exact; micro-dollars rounded once
    expected_cost = (expected_nanos + 500) // 1000
    assert expected_cost > 0

    resp = await proxy.get(f"/v1/logs/{grandchild}/hierarchy")
    assert resp.status == 200
    h = await resp.json()
    assert [n["id"] for n in h["breadcrumb"]] == [root, child_b, grandchild]
    assert h["parent"]["id"] == child_b and h["children"] == [] and h["depth"] == 2
    assert h["tree"] == {"root_id": root, "calls": 4, "cost_micros": expected_cost,
                         "cost_usd": expected_nanos / 1e9, "unpriced_calls": 0, "max_depth": 2}

    h = await (await proxy.get(f"/v1/logs/{root}/hierarchy")).json()
    assert [n["id"] for n in h["breadcrumb"]] == [root] and h["parent"] is None
    # children come oldest first; two calls may share a millisecond, then the id decides
    in_order = sorted([child_a, child_b], key=lambda i: (entries[i]["started_at"], i))
    assert [n["id"] for n in h["children"]] == in_order and h["children_total"] == 2
    assert h["tree"]["calls"] == 4 and h["tree"]["max_depth"] == 2
    assert h["children"][0]["cost_usd"] == entries[child_a]["cost_usd"]

    h = await (await proxy.get(f"/v1/logs/{child_b}/hierarchy")).json()
    assert [n["id"] for n in h["children"]] == [grandchild] and h["parent"]["id"] == root

    listed = await (await proxy.get("/v1/logs", params={"root_only": "true"})).json()
    assert [e["id"] for e in listed["logs"]] == [root]
    listed = await (await proxy.get("/v1/logs", params={"parent_id": root, "sort_order": "asc"})).json()
    assert [e["id"] for e in listed["logs"]] == in_order


async def test_hierarchy_and_events_of_unknown_id_are_404(proxy):
    for path in ("/v1/logs/NOPE/hierarchy", "/v1/logs/NOPE/events"):
        resp = await proxy.get(path)
        assert resp.status == 404 and (await resp.json())["error"]["type"] == "not_found_error"


async def test_stream_events_with_offsets_and_type_filter(proxy, fake):
    fake.chunk_delay_s = 0.05
    call_id = await call(proxy, "one two three", stream=True)
    await flushed(proxy)
    resp = await proxy.get(f"/v1/logs/{call_id}/events")
    assert resp.status == 200
    body = await resp.json()
    events = body["events"]
    # the fake sends a role chunk, "Echo:" + three words, a finish chunk, then [DONE]
    deltas = [orjson.loads(e["data"])["choices"][0]["delta"].get("content") for e in events
              if e["data"] != "[DONE]"]
    assert deltas == ["", "Echo:", " one", " two", " three", None]
    assert events[-1]["data"] == "[DONE]" and body["count"] == len(events) == 7
    offsets = [e["offset_ms"] for e in events]
    assert offsets == sorted(offsets)
    assert offsets[-1] - offsets[0] >= 5 * 50 * 0.8  # arrival times, not write times
    assert all(e["event"] in (None, "message") for e in events)
    filtered = await (await proxy.get(f"/v1/logs/{call_id}/events", params={"types": "ping,other"})).json()
    assert filtered["events"] == [] and filtered["count"] == 0
    resp = await proxy.get(f"/v1/logs/{call_id}/events", params={"limit": "3"})
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "limit"


async def test_events_type_filter_keeps_named_events(make_proxy, db_path):
    import time

    from tests.fakes.seeding import make_entry, seed
    entry = make_entry(int(time.time() * 1000) - 1000, stream=1, events=[
        [1.5, "message_start", "{}"], [2.0, "ping", "{}"], [9.25, "content_block_delta", '{"d":1}'],
        [12.0, "content_block_delta", '{"d":2}'], [13.0, "message_stop", "{}"]])
    (call_id,) = seed(db_path, [entry])
    client = await make_proxy()
    body = await (await client.get(f"/v1/logs/{call_id}/events", params=[
        ("types", "content_block_delta"), ("types", "message_stop")])).json()
    assert body["events"] == [
        {"offset_ms": 9.25, "event": "content_block_delta", "data": '{"d":1}'},
        {"offset_ms": 12.0, "event": "content_block_delta", "data": '{"d":2}'},
        {"offset_ms": 13.0, "event": "message_stop", "data": "{}"}]
    body = await (await client.get(f"/v1/logs/{call_id}/events", params={"types": "ping,message_start"})).json()
    assert [e["offset_ms"] for e in body["events"]] == [1.5, 2.0]


async def test_feedback_is_stored_and_shown(proxy):
    call_id = await call(proxy, "rate me")
    await flushed(proxy)
    resp = await proxy.post(f"/v1/logs/{call_id}/feedback", json={"score": 0.5, "comment": "decent"})
    assert resp.status == 200
    assert (await resp.json())["feedback"]["score"] == 0.5
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    assert entry["feedback"]["score"] == 0.5 and entry["feedback"]["comment"] == "decent"
    assert entry["feedback"]["updated_at"].endswith("Z")
    await proxy.post(f"/v1/logs/{call_id}/feedback", json={"score": -1})
    listed = await (await proxy.get("/v1/logs")).json()
    assert listed["logs"][0]["feedback"]["score"] == -1 and listed["logs"][0]["feedback"]["comment"] is None


@pytest.mark.parametrize("body,param", [
    (b"not json", "body"), (b"[1, 2]", "body"), (b"{}", "score"), (b'{"score": "high"}', "score"),
    (b'{"score": true}', "score"), (b'{"score": 1, "comment": 5}', "comment"),
    (b'{"score": 1, "rating": 5}', "rating"),
    (orjson.dumps({"score": 1, "comment": "x" * 10_001}), "comment"),
])
async def test_feedback_validation_is_400(proxy, body, param):
    call_id = await call(proxy, "rate me")
    await flushed(proxy)
    resp = await proxy.post(f"/v1/logs/{call_id}/feedback", data=body,
                            headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == param
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    assert entry["feedback"] is None


async def test_feedback_unknown_id_404_and_oversize_413(proxy):
    resp = await proxy.post("/v1/logs/NOPE/feedback", json={"score": 1})
    assert resp.status == 404 and (await resp.json())["error"]["param"] == "id"
    big = orjson.dumps({"score": 1, "comment": "x" * (65 * 1024)})
    resp = await proxy.post("/v1/logs/NOPE/feedback", data=big, headers={"Content-Type": "application/json"})
    assert resp.status == 413 and (await resp.json())["error"]["type"] == "request_too_large"
