"""End to end through a running proxy: do-not-track, failures, streaming without buffering, a stalled writer."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from llmlog.store.backends import open_store
from tests.conftest import chat_body, database_bytes, flushed

CHAT = "/v1/chat/completions"


@pytest.mark.parametrize("header", [("x-debug", "false"), ("x-debug", "0"), ("x-portkey-debug", "false"),
                                    ("helicone-omit-request", "true")])
@pytest.mark.backends
async def test_do_not_track_leaves_no_content_in_the_database(proxy, db_path, backend, header):
    marker = "zebra7Quartz9Marker"
    resp = await proxy.post(CHAT, data=chat_body(f"say {marker} now"),
                            headers={"Content-Type": "application/json", header[0]: header[1],
                                     "Authorization": "Bearer sk-dnt"})
    answer = await resp.json()
    assert marker in answer["choices"][0]["message"]["content"]  # it was in the output too
    streamed = await proxy.post(CHAT, data=chat_body(f"again {marker}", stream=True),
                                headers={header[0]: header[1]})
    assert marker.encode() in await streamed.read()
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["do_not_track"] is True and entry["has_content"] is False
    assert entry["input_tokens"] > 0 and entry["output_tokens"] > 0 and entry["duration_ms"] > 0
    assert "request" not in entry and "prompt" not in entry
    store = open_store(db_path, create=False)
    try:  # neither call has a content row, on any backend
        for call_id in (resp.headers["x-llmlog-id"], streamed.headers["x-llmlog-id"]):
            metrics, content = store.get_log(call_id)
            assert metrics["do_not_track"] == 1 and content is None
    finally:
        store.close()
    if backend != "sqlite":
        return
    raw = database_bytes(db_path)
    assert raw, "database files exist"
    for needle in (marker, marker.lower(), "say", "Echo"):
        assert needle.encode() not in raw, needle
    # large bodies are stored zlib-packed (m004), which a grep cannot see into: no content row at all
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM call_content").fetchone()[0] == 0
    finally:
        conn.close()


async def test_tracked_call_stores_content_but_never_secrets(proxy, db_path):
    resp = await proxy.post(CHAT + "?key=query-secret-1", data=chat_body("plain tracked words"),
                            headers={"Authorization": "Bearer sk-live-SECRETVALUE", "x-api-key": "xk-SECRET2",
                                     "api-key": "ak-SECRET3", "Cookie": "session=SECRET4"})
    assert resp.status == 200
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    headers = {k.lower(): v for k, v in entry["request"]["headers"]}
    assert headers["authorization"] == headers["x-api-key"] == headers["cookie"] == "[redacted]"
    assert entry["api_key_prefix"] == "sk-l" and len(entry["api_key_hash"]) == 64  # a quarter of a short key
    raw = database_bytes(db_path)
    assert b"plain tracked words" in raw
    for secret in (b"SECRETVALUE", b"SECRET2", b"SECRET3", b"SECRET4", b"query-secret-1"):
        assert secret not in raw


async def test_forwarding_is_transparent(proxy, fake):
    body = b'{"model": "x",   "odd": [1,2]}'  # not re-serialised: spacing survives
    resp = await proxy.post("/v1/anything/here?b=2&a=1&a=3", data=body,
                            headers={"Content-Type": "application/json", "X-Custom": "kept",
                                     "x-llmlog-user": "u1", "x-llmlog-tags": "a,b", "Connection": "keep-alive"})
    assert resp.status == 200
    seen = fake.received[-1]
    assert seen["path"] == "/v1/anything/here?b=2&a=1&a=3"
    assert seen["body"] == body
    names = {k.lower(): v for k, v in seen["headers"]}
    assert names["x-custom"] == "kept" and names["content-type"] == "application/json"
    assert "x-llmlog-user" not in names and "x-llmlog-tags" not in names
    assert resp.headers["x-llmlog-id"]
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["user_id"] == "u1" and entry["tags"] == ["a", "b"]


async def test_invalid_metadata_header_is_400_before_forwarding(proxy, fake):
    resp = await proxy.post(CHAT, data=chat_body("x"), headers={"x-llmlog-metadata": "{not json"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == "x-llmlog-metadata" and error["type"] == "invalid_request_error"
    assert fake.received == []


async def test_metadata_nested_beyond_what_an_entry_can_store_is_400(proxy, fake):
    """300 levels parse, but orjson writes back at most 255: stored, the call would lose its
    accounting; refused before forwarding instead, as any unusable control header is."""
    deep = "{" + '"a":{' * 299 + '"b":1' + "}" * 300
    resp = await proxy.post(CHAT, data=chat_body("x"), headers={"x-llmlog-metadata": deep})
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "x-llmlog-metadata"
    assert fake.received == []
    nested = "{" + '"a":{' * 30 + '"b":[1]' + "}" * 31  # 32 levels: kept whole
    resp = await proxy.post(CHAT, data=chat_body("x"), headers={"x-llmlog-metadata": nested})
    assert resp.status == 200
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["cost_usd"] is not None and entry["metadata"]["custom"]["a"]["a"]


async def test_upstream_down_is_502_and_logged(make_proxy, unused_tcp_port):
    client = await make_proxy(upstream_url=f"http://127.0.0.1:{unused_tcp_port}")
    resp = await client.post(CHAT, data=chat_body("hi"))
    assert resp.status == 502
    error = (await resp.json())["error"]
    assert error["type"] == "upstream_unreachable" and error["message"]
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["status"] == "error" and entry["status_code"] == 502


async def test_upstream_slower_than_timeout_is_504_and_logged(make_proxy, fake):
    fake.header_delay_s = 2.0
    client = await make_proxy(upstream__read_timeout_s=0.3)
    resp = await client.post(CHAT, data=chat_body("hi"))
    assert resp.status == 504
    assert (await resp.json())["error"]["type"] == "upstream_timeout"
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["status"] == "timeout" and entry["status_code"] == 504


async def test_stream_chunks_arrive_before_upstream_finishes(proxy, fake):
    fake.chunk_delay_s = 0.2
    resp = await proxy.post(CHAT, data=chat_body("one two three", stream=True))
    first = await resp.content.readany()
    first_at = time.monotonic()
    assert first.startswith(b"data: ")
    rest = await resp.read()
    assert b"[DONE]" in rest
    assert first_at < fake.chunk_sent_at[-1] - 0.5  # several chunks were still to come


async def test_stalled_writer_does_not_slow_requests(proxy, stalled_writes):
    started = time.monotonic()
    ids = []
    for i in range(20):
        resp = await proxy.post(CHAT, data=chat_body(f"call {i}"))
        assert resp.status == 200
        ids.append(resp.headers["x-llmlog-id"])
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed  # the 10 s stall is nowhere on the request path
    listed = await (await proxy.get("/v1/logs")).json()
    assert listed["total"] < 20
    stalled_writes.set()
    await asyncio.wait_for(flushed(proxy), 10)
    listed = await (await proxy.get("/v1/logs", params={"limit": 100})).json()
    assert {e["id"] for e in listed["logs"]} == set(ids)
