"""A stream's events are stored once (issue #7): the raw SSE body plus a chunk timeline; rows in
the older form (parsed `events` JSON) still read the same."""

from __future__ import annotations

import sqlite3
import time

import orjson
import pytest

from llmlog.proxy.query.stream_events import chunk_timeline, events_from_timeline
from llmlog.store.backends import open_store
from tests.conftest import flushed
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

CHAT = "/v1/chat/completions"


async def _stream(proxy, content: str) -> tuple[str, bytes]:
    body = orjson.dumps({"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": content}]})
    resp = await proxy.post(CHAT, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200
    return resp.headers["x-llmlog-id"], await resp.read()


def _sent_data(raw: bytes) -> list[str]:
    """The data of each event the client received (the fake sends one `data:` line per event)."""
    return [block.decode().removeprefix("data: ") for block in raw.split(b"\n\n") if block]


def _content_row(db_path: str, call_id: str) -> dict:
    """The stored content of a call, read through the Store interface: bodies as sent, whether
    stored raw or zlib-packed (m004, tests/forward/test_body_encoding.py)."""
    store = open_store(db_path, create=False)
    try:
        _, content = store.get_log(call_id)
    finally:
        store.close()
    assert content is not None
    return content


async def test_streamed_call_stores_a_timeline_not_events_and_reads_back_what_was_sent(proxy, fake, db_path):
    fake.chunk_delay_s = 0.03
    call_id, received = await _stream(proxy, "alpha beta")
    await flushed(proxy)
    row = _content_row(db_path, call_id)
    assert row["events"] is None
    timeline = orjson.loads(row["chunk_offsets"])
    ends = [end for _, end in timeline]
    assert ends == sorted(ends) and ends[-1] == len(row["response_body"]) == len(received)
    assert row["response_body"] == received

    body = await (await proxy.get(f"/v1/logs/{call_id}/events")).json()
    sent = _sent_data(received)
    assert len(sent) == 6  # role chunk, "Echo:", two words, finish chunk, [DONE]
    assert [e["data"] for e in body["events"]] == sent and body["count"] == 6
    offsets = [e["offset_ms"] for e in body["events"]]
    assert offsets == sorted(offsets) and offsets[-1] - offsets[0] >= 4 * 30 * 0.8
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    assert entry["events_count"] == 6


@pytest.mark.sqlite_only  # an m001-era row of SQLite's own schema history
async def test_old_row_with_events_json_reads_the_same(make_proxy, db_path):
    events = [[1.5, None, '{"a":1}'], [7.25, "ping", "{}"], [9.0, None, "[DONE]"]]
    (call_id,) = seed(db_path, [make_entry(int(time.time() * 1000) - 1000, stream=1)])
    conn = sqlite3.connect(db_path)
    with conn:  # an m001-era row: parsed events, no timeline, a body they do not come from
        conn.execute("UPDATE call_content SET events = ?, chunk_offsets = NULL, response_body = ? "
                     "WHERE call_id = ?", (orjson.dumps(events).decode(), b"not sse", call_id))
    conn.close()
    client = await make_proxy()
    body = await (await client.get(f"/v1/logs/{call_id}/events")).json()
    assert body["events"] == [{"offset_ms": 1.5, "event": None, "data": '{"a":1}'},
                              {"offset_ms": 7.25, "event": "ping", "data": "{}"},
                              {"offset_ms": 9.0, "event": None, "data": "[DONE]"}]
    assert (await (await client.get(f"/v1/logs/{call_id}")).json())["events_count"] == 3


async def test_truncated_stream_timeline_stays_within_the_stored_bytes(make_proxy, fake, db_path):
    client = await make_proxy(store__max_body_bytes=300)
    call_id, received = await _stream(client, "one two three four five six")
    await flushed(client)
    row = _content_row(db_path, call_id)
    assert row["response_truncated"] == 1 and len(row["response_body"]) == 300 < len(received)
    timeline = orjson.loads(row["chunk_offsets"])
    assert timeline[-1][1] == 300 and all(end <= 300 for _, end in timeline)
    body = await (await client.get(f"/v1/logs/{call_id}/events")).json()
    # the events whole in the stored 300 bytes, then the cut one as far as its data line was kept
    *whole, cut = received[:300].split(b"\n\n")
    expected = _sent_data(b"\n\n".join(whole))
    if cut.startswith(b"data: "):
        expected.append(cut.decode().removeprefix("data: "))
    assert len(whole) >= 1 and [e["data"] for e in body["events"]] == expected


def test_timeline_rebuilds_events_split_across_chunks():
    chunks = [(1.0, b"event: a\ndata: x"), (2.5, b"y\n\ndata: z\n"), (4.0, b""), (6.0, b"\ndata: w\n\n")]
    timeline = chunk_timeline(chunks, 37)
    assert timeline == [[1.0, 16], [2.5, 27], [4.0, 27], [6.0, 37]]
    assert events_from_timeline(b"".join(c for _, c in chunks), timeline) == [
        [2.5, "a", "xy"], [6.0, None, "z"], [6.0, None, "w"]]


def test_timeline_drops_chunks_past_the_cut():
    chunks = [(1.0, b"data: 1\n\n"), (2.0, b"data: 2\n\n"), (3.0, b"data: 3\n\n")]
    assert chunk_timeline(chunks, 12) == [[1.0, 9], [2.0, 12]]
    assert events_from_timeline(b"data: 1\n\nda", [[1.0, 9], [2.0, 12]]) == [[1.0, None, "1"]]
    assert chunk_timeline(chunks, 0) == []
