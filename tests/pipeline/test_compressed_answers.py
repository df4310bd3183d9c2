"""Issue 14 item 12: a compressed answer that inflates far past `store.max_body_bytes` (a "zip bomb")
is forwarded unchanged, inflated for the log only up to the cap, off the event loop, and stored
marked truncated; other calls through the proxy stay fast and memory stays flat meanwhile."""

from __future__ import annotations

import asyncio
import functools
import gzip
import struct
import threading
import time
import zlib

import aiohttp
import orjson
import pytest

from llmlog.proxy.app import Seams
from llmlog.proxy.pipeline.interpret import build_entry, inflate
from tests.conftest import chat_body, flushed
from tests.fakes import faulty_upstream as fu

INFLATED = 1 << 30  # what the bomb inflates to: 1 GiB of zeros
SMALL_ANSWER = (b'{"id":"chatcmpl-s","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":'
                b'[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],'
                b'"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}')


@functools.cache
def bomb(encoding: str, block: int = 4 << 20) -> bytes:
    """~1 MB of gzip or zlib ("deflate") that inflates to INFLATED zeros. Cheap to build: one
    block is compressed with a full flush (which resets the window, so every block compresses to
    the same bytes), repeated, and closed with the right checksum and length."""
    zeros = bytes(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = INFLATED // block
    deflated = piece * blocks + zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final empty block
    if encoding == "gzip":
        crc = 0
        for _ in range(blocks):
            crc = zlib.crc32(zeros, crc)
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflated + struct.pack("<II", crc, INFLATED % 2**32)
    adler = (INFLATED % 65521) << 16 | 1  # Adler-32 of n zero bytes: a = 1, b = n mod 65521
    return b"\x78\xda" + deflated + struct.pack(">I", adler)


def brotli_bomb() -> bytes:
    brotli = pytest.importorskip("brotli")
    compressor = brotli.Compressor(quality=1)
    zeros = bytes(4 << 20)
    return b"".join(compressor.process(zeros) for _ in range(INFLATED // len(zeros))) + compressor.finish()


def bomb_or_small(encoding: str, bomb_body: bytes) -> fu.Script:
    """`/v1/bomb` gets the bomb (Content-Encoding as given); every other path a small chat answer."""
    async def script(upstream, request, writer):
        if b" /v1/bomb " in request.head.split(b"\r\n", 1)[0]:
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
                    f"Content-Length: {len(bomb_body)}\r\nConnection: close\r\n\r\n").encode()
            writer.write(head + bomb_body)
        else:
            writer.write(fu.response_head(200, "OK", "application/json", len(SMALL_ANSWER)) + SMALL_ANSWER)
        await writer.drain()
    return script


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


def reset_peak_rss() -> bool:
    """Start VmHWM (peak RSS) afresh, so it measures this test only (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_compression_bomb_is_inflated_to_the_cap_off_the_loop(make_proxy, encoding):
    body = brotli_bomb() if encoding == "br" else bomb(encoding)
    upstream = await fu.FaultyUpstream(bomb_or_small(encoding, body)).start()
    client = await make_proxy(upstream_url=upstream.url)
    cap = 1024 * 1024  # store.max_body_bytes' default
    assert len(body) <= cap  # the whole bomb is in the log's copy: only inflating it could hurt
    base = str(client.make_url("")).rstrip("/")
    latencies: list[float] = []
    peak_sampled = 0
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            async def ping() -> None:
                started = time.monotonic()
                async with session.post(base + "/v1/chat/completions", data=chat_body("ping")) as resp:
                    assert resp.status == 200 and await resp.read() == SMALL_ANSWER
                latencies.append(time.monotonic() - started)

            await ping()  # connections warm
            rss_before = _status_kb("VmRSS")
            have_peak = reset_peak_rss()
            stop = asyncio.Event()

            async def keep_pinging() -> None:
                # one call always in flight: the proxy shares this event loop, so any stall of it
                # (inflating on the loop) lands inside some call's latency
                nonlocal peak_sampled
                while not stop.is_set():
                    await ping()
                    peak_sampled = max(peak_sampled, _status_kb("VmRSS"))

            pinger = asyncio.create_task(keep_pinging())
            async with session.post(base + "/v1/bomb", data=chat_body("boom")) as resp:
                assert resp.status == 200 and resp.headers["Content-Encoding"] == encoding
                assert await resp.read() == body  # forwarded as sent, still compressed
                call_id = resp.headers["x-llmlog-id"]
            # not `flushed`: the pinger keeps the queue from ever being empty; wait for the entry itself
            for _ in range(500):
                async with session.get(f"{base}/v1/logs/{call_id}") as got:
                    if got.status == 200:
                        break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            stop.set()
            await pinger
    finally:
        await upstream.stop()
    peak = max(peak_sampled, _status_kb("VmHWM") if have_peak else 0)
    assert max(latencies) < 0.5, f"a call took {max(latencies):.2f} s while the bomb was logged"
    assert (peak - rss_before) / 1024 < 200, f"memory grew by {(peak - rss_before) / 1024:.0f} MB"

    got = await client.get(f"/v1/logs/{call_id}")
    assert got.status == 200
    entry = await got.json()
    assert entry["status"] == "success" and entry["response"]["truncated"] is True
    stored = entry["response"]["body"]
    assert isinstance(stored, str) and len(stored) == cap and set(stored) == {"\x00"}


# -- an ordinary compressed answer, and the inflater's edges ---------------------------------------

def gzip_answer(body: bytes) -> fu.Script:
    async def script(upstream, request, writer):
        packed = gzip.compress(body)
        writer.write((f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                      f"Content-Length: {len(packed)}\r\nConnection: close\r\n\r\n").encode() + packed)
        await writer.drain()
    return script


async def test_gzip_answer_is_logged_readable_with_its_usage_built_off_the_loop(make_proxy):
    threads = []

    def watched(call, prices, max_body_bytes, privacy):  # the only caller of `inflate`: the answer is inflated in here
        threads.append(threading.current_thread())
        return build_entry(call, prices, max_body_bytes, privacy)

    upstream = await fu.FaultyUpstream(gzip_answer(SMALL_ANSWER)).start()
    try:
        client = await make_proxy(upstream_url=upstream.url, seams=Seams(build_entry=watched))
        resp = await client.post("/v1/chat/completions", data=chat_body("hi"), auto_decompress=False)
        assert resp.status == 200 and gzip.decompress(await resp.read()) == SMALL_ANSWER
        await flushed(client)
    finally:
        await upstream.stop()
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["response"]["body"]["choices"][0]["message"]["content"] == "ok"
    assert entry["response"]["truncated"] is False
    assert (entry["usage_source"], entry["input_tokens"], entry["output_tokens"]) == ("provider", 3, 1)
    assert threads and threading.main_thread() not in threads  # inflated in a worker thread


TEXT = b'{"a": "' + b"x" * 5000 + b'"}'


@pytest.mark.parametrize("encoding, packed", [
    ("gzip", gzip.compress(TEXT)),
    ("x-gzip", gzip.compress(TEXT)),
    ("deflate", zlib.compress(TEXT)),
    ("deflate", zlib.compress(TEXT, wbits=-15)),  # raw deflate, as some servers send it
], ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw"])
def test_inflate_whole(encoding, packed):
    assert inflate(packed, encoding, 1 << 20) == (TEXT, False)


def test_inflate_stops_at_the_cap():
    assert inflate(gzip.compress(TEXT), "gzip", 100) == (TEXT[:100], True)
    assert inflate(gzip.compress(TEXT), "gzip", len(TEXT)) == (TEXT, False)  # exactly the cap: whole


def test_inflate_reads_every_gzip_member():
    assert inflate(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 100) == (b"abcd", False)


def test_inflate_keeps_what_a_cut_stream_held_marked_truncated():
    packed = gzip.compress(bytes(range(256)) * 40)
    out, truncated = inflate(packed[:len(packed) // 2], "gzip", 1 << 20)
    assert truncated and out and (bytes(range(256)) * 40).startswith(out)


@pytest.mark.parametrize("encoding, body", [
    ("gzip", b"not gzip at all"), ("deflate", b"\x00\x01garbage"), ("identity", b"plain"), ("", b"plain"),
    ("zstd", b"unknown coding"),
])
def test_inflate_keeps_what_it_cannot_decode_as_it_came(encoding, body):
    assert inflate(body, encoding, 1 << 20) == (body, False)


# -- compressed requests: forwarded as sent, readable in the log, never inflated on the loop ------

async def test_a_gzip_request_body_is_forwarded_as_sent_and_logged_readable(make_proxy):
    upstream = await fu.FaultyUpstream(fu.fixed(200, "OK", "application/json", SMALL_ANSWER)).start()
    client = await make_proxy(upstream_url=upstream.url)
    plain = chat_body("a compressed question")
    packed = gzip.compress(plain)
    try:
        resp = await client.post("/v1/chat/completions", data=packed,
                                 headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        assert resp.status == 200 and await resp.read() == SMALL_ANSWER
    finally:
        await upstream.stop()
    [received] = upstream.received
    assert received.body == packed  # the bytes as sent, with the header that describes them
    assert b"content-encoding: gzip" in received.head.lower()
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["model"] == "gpt-4o-mini" and entry["request"]["body"] == orjson.loads(plain)
    assert entry["prompt"]["text"].endswith("a compressed question")


async def test_a_gzip_bomb_request_costs_the_loop_nothing(make_proxy):
    """A 1 MB request body that inflates to 1 GiB: forwarded as sent, logged up to the cap, and
    other calls stay fast meanwhile (aiohttp's own request inflating would run on the loop)."""
    upstream = await fu.FaultyUpstream(fu.fixed(200, "OK", "application/json", SMALL_ANSWER)).start()
    client = await make_proxy(upstream_url=upstream.url)
    body = bomb("gzip")
    try:
        started = time.monotonic()
        bombing = asyncio.create_task(client.post("/v1/chat/completions", data=body,
                                                  headers={"Content-Encoding": "gzip"}))
        latencies = []
        while not bombing.done() or len(latencies) < 20:
            t0 = time.monotonic()
            assert (await client.get("/healthz")).status == 200
            latencies.append(time.monotonic() - t0)
            await asyncio.sleep(0.01)
        resp = bombing.result()
        assert resp.status == 200
        await flushed(client)
        entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    finally:
        await upstream.stop()
    assert upstream.received[0].body == body
    assert max(latencies) < 0.5, f"healthz took {max(latencies):.2f} s"
    assert entry["request"]["truncated"] is True and time.monotonic() - started < 10
