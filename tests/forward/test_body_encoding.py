"""Large bodies are stored zlib-compressed (m004, store/bodies.py; issue #7) and every reader gives
back the bytes as sent: GET /v1/logs/{id}, its events, export and `llmlog show` are unchanged."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
import zlib

import orjson
import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.store.bodies import COMPRESS_FROM_BYTES, pack, unpack
from tests.conftest import chat_body, database_bytes, flushed, replay_spill_now
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.sqlite_only  # how SQLite rows hold bodies (zlib-packed, m004), read raw from the file

CHAT = "/v1/chat/completions"
WORDS = " ".join(f"Kumquat{i}" for i in range(120))  # the fake echoes each word as one stream event


def stored(db_path: str, call_id: str) -> tuple:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT body_encoding, request_body, response_body FROM call_content WHERE call_id = ?",
                            (call_id,)).fetchone()
    finally:
        conn.close()


def sent_events(raw: bytes) -> list[str]:
    """The data of each event the client received (the fake sends one `data:` line per event)."""
    return [block.decode().removeprefix("data: ") for block in raw.split(b"\n\n") if block]


async def export_record(client, call_id: str, fmt: str):
    resp = await client.get("/v1/logs/export", params={"format": fmt, "fields": "id,request_body,response_body"})
    assert resp.status == 200
    text = (await resp.read()).decode()
    if fmt == "jsonl":
        return next(r for r in map(orjson.loads, text.splitlines()) if r["id"] == call_id)
    return next(r for r in csv.DictReader(io.StringIO(text)) if r["id"] == call_id)


async def assert_reads_as_sent(client, db_path: str, call_id: str, sent: bytes, received: bytes, *, sse: bool):
    """Every reader gives back exactly the bodies that crossed the proxy."""
    want_request, want_response = orjson.loads(sent), (received.decode() if sse else orjson.loads(received))
    entry = await (await client.get(f"/v1/logs/{call_id}")).json()
    assert entry["request"]["body"] == want_request and entry["response"]["body"] == want_response
    events = await (await client.get(f"/v1/logs/{call_id}/events")).json()
    assert [e["data"] for e in events["events"]] == (sent_events(received) if sse else [])
    assert entry["events_count"] == events["count"]
    assert await export_record(client, call_id, "jsonl") == {
        "id": call_id, "request_body": want_request, "response_body": want_response}
    row = await export_record(client, call_id, "csv")
    assert row["response_body"] == (received.decode() if sse else orjson.dumps(want_response).decode())
    shown = CliRunner().invoke(cli.main, ["show", "--db", db_path, "--json", call_id])
    assert shown.exit_code == 0, shown.output
    assert orjson.loads(shown.output) == entry


async def reader_outputs(client, db_path: str, call_id: str) -> list[bytes]:
    """The bytes each reader gives for the call: entry, events, export (jsonl, csv), `llmlog show`."""
    outputs = [await (await client.get(f"/v1/logs/{call_id}")).read(),
               await (await client.get(f"/v1/logs/{call_id}/events")).read()]
    for fmt in ("jsonl", "csv"):
        outputs.append(await (await client.get("/v1/logs/export", params={
            "format": fmt, "fields": "id,request_body,response_body,prompt_text"})).read())
    for args in (["--json"], []):
        outputs.append(CliRunner().invoke(cli.main, ["show", "--db", db_path, *args, call_id]).stdout_bytes)
    return outputs


async def assert_same_bytes_as_a_raw_row(client, db_path: str, call_id: str):
    """The packed row and the same row stored as sent (as before m004) read byte for byte the same."""
    packed = await reader_outputs(client, db_path, call_id)
    assert all(packed) and b"Kumquat7" in packed[-1]  # `llmlog show` (text) printed the entry
    conn = sqlite3.connect(db_path)
    with conn:
        (request_body, response_body), = conn.execute(
            "SELECT request_body, response_body FROM call_content WHERE call_id = ?", (call_id,))
        conn.execute("UPDATE call_content SET request_body = ?, response_body = ?, body_encoding = NULL "
                     "WHERE call_id = ?", (zlib.decompress(request_body), zlib.decompress(response_body), call_id))
    conn.close()
    assert await reader_outputs(client, db_path, call_id) == packed


async def test_large_stream_is_stored_compressed_and_reads_back_as_sent(proxy, db_path):
    sent = chat_body(WORDS, stream=True)
    resp = await proxy.post(CHAT, data=sent, headers={"Content-Type": "application/json"})
    received = await resp.read()
    call_id = resp.headers["x-llmlog-id"]
    assert len(sent_events(received)) == 120 + 4 and len(received) > 20 * COMPRESS_FROM_BYTES
    await flushed(proxy)
    encoding, request_body, response_body = stored(db_path, call_id)
    assert encoding == "zlib"
    assert zlib.decompress(request_body) == sent and zlib.decompress(response_body) == received
    assert len(response_body) * 5 < len(received)
    raw = database_bytes(db_path)
    assert WORDS.encode() in raw  # the prompt text column is kept as text (search, previews)
    event = sent_events(received)[60].encode()  # one whole SSE event: it exists only in the body
    assert b'"delta":{"content":' in received and event in received
    assert b'"delta":{"content":' not in raw and event not in raw
    await assert_reads_as_sent(proxy, db_path, call_id, sent, received, sse=True)
    await assert_same_bytes_as_a_raw_row(proxy, db_path, call_id)


async def test_large_json_call_is_stored_compressed_and_reads_back_as_sent(proxy, db_path):
    sent = chat_body(WORDS)
    resp = await proxy.post(CHAT, data=sent, headers={"Content-Type": "application/json"})
    received = await resp.read()
    call_id = resp.headers["x-llmlog-id"]
    await flushed(proxy)
    encoding, request_body, response_body = stored(db_path, call_id)
    assert encoding == "zlib" and zlib.decompress(request_body) == sent and zlib.decompress(response_body) == received
    raw = database_bytes(db_path)
    assert b'"messages":[{"role":"user","content":"Kumquat0' in sent
    assert b'"messages":[{"role":"user","content":"Kumquat0' not in raw
    await assert_reads_as_sent(proxy, db_path, call_id, sent, received, sse=False)
    await assert_same_bytes_as_a_raw_row(proxy, db_path, call_id)


async def test_small_call_stays_as_sent(proxy, db_path):
    sent = chat_body("tiny words")
    resp = await proxy.post(CHAT, data=sent, headers={"Content-Type": "application/json"})
    received = await resp.read()
    assert len(sent) + len(received) < COMPRESS_FROM_BYTES
    await flushed(proxy)
    call_id = resp.headers["x-llmlog-id"]
    assert stored(db_path, call_id) == (None, sent, received)
    await assert_reads_as_sent(proxy, db_path, call_id, sent, received, sse=False)


async def test_row_written_before_m004_reads_the_same(make_proxy, db_path):
    """A row from before m004: body_encoding NULL, large bodies stored raw, stream events from its timeline."""
    sent = chat_body(WORDS, stream=True)
    events = [f'{{"choices":[{{"delta":{{"content":" w{i}"}}}}]}}' for i in range(80)] + ["[DONE]"]
    received = b"".join(f"data: {e}\n\n".encode() for e in events)
    ends, total = [], 0
    for i, e in enumerate(events):
        total += len(f"data: {e}\n\n")
        ends.append([float(i), total])
    (call_id,) = seed(db_path, [make_entry(int(time.time() * 1000) - 1000, stream=1)])
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE call_content SET request_body = ?, response_body = ?, chunk_offsets = ?, "
                     "body_encoding = NULL WHERE call_id = ?",
                     (sent, received, orjson.dumps(ends).decode(), call_id))
    conn.close()
    client = await make_proxy()
    await assert_reads_as_sent(client, db_path, call_id, sent, received, sse=True)


def test_pack_leaves_the_entry_as_sent_and_is_idempotent():
    """The writer packs a copy: an entry that goes on to the spill file keeps its bodies as sent."""
    big = b"x" * COMPRESS_FROM_BYTES
    content = {"call_id": "c", "request_body": big, "response_body": None}
    packed = pack(content)
    assert content == {"call_id": "c", "request_body": big, "response_body": None}
    assert packed["body_encoding"] == "zlib" and packed["response_body"] is None
    assert unpack(packed["request_body"], "zlib") == big and pack(packed) is packed
    small = {"call_id": "c", "request_body": big[:-1], "response_body": b""}
    assert pack(small) is small and "body_encoding" not in small
    with pytest.raises(ValueError):
        unpack(b"x", "brotli")


async def test_spilled_entry_keeps_bodies_as_sent_and_is_packed_when_replayed(proxy, db_path, failing_writes):
    sent = chat_body(WORDS, stream=True)
    resp = await proxy.post(CHAT, data=sent, headers={"Content-Type": "application/json"})
    received = await resp.read()
    call_id = resp.headers["x-llmlog-id"]
    await flushed(proxy)
    event = sent_events(received)[60]
    spilled = open(db_path + ".spill", "rb").read()
    assert orjson.dumps(event)[1:-1] in spilled  # the spill record holds the SSE text, not zlib bytes
    failing_writes["on"] = False
    await replay_spill_now(proxy)
    assert stored(db_path, call_id)[0] == "zlib"
    await assert_reads_as_sent(proxy, db_path, call_id, sent, received, sse=True)
