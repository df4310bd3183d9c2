"""The upstream client (proxy/upstream/client.py) through the running proxy: keep-alive reuse, answers
framed every way HTTP/1.1 allows, connections the upstream closes, TLS, and flow control."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest

import llmlog.proxy.upstream.client as upstream_client
from llmlog.proxy.app import Seams
from llmlog.proxy.state import FORWARDER
from llmlog.proxy.upstream.client import Origin, UpstreamClient, _Connection
from tests.conftest import CHAT, chat_body, flushed
from tests.fakes.faulty_upstream import reset

ANSWER = orjson.dumps({"id": "chatcmpl-k", "object": "chat.completion", "created": 1732000000,
                       "model": "gpt-4o-mini-2024-07-18",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": "kept alive"},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}})
HANG_UP = b""  # an answer that is no answer: the upstream closes the connection instead


def plain(body: bytes = ANSWER, *extra: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in extra)
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}Content-Length: {len(body)}\r\n\r\n"
            .encode() + body)


@dataclass
class ScriptedUpstream:
    """A raw HTTP/1.1 server on 127.0.0.1 that keeps connections open and answers each request
    with the next scripted bytes; `(bytes, True)` closes the connection after that answer."""

    answers: list
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                answer, close = answer if isinstance(answer, tuple) else (answer, False)
                if answer:
                    writer.write(answer)
                    await writer.drain()
                if close or not answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def scripted():
    servers = []

    async def start(*answers) -> ScriptedUpstream:
        upstream = ScriptedUpstream(list(answers))
        upstream.server = await asyncio.start_server(upstream._serve, "127.0.0.1", 0)
        servers.append(upstream.server)
        return upstream
    yield start
    for server in servers:
        server.close()


async def entry_of(client, resp) -> dict:
    await flushed(client)
    return await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()


@pytest.mark.parametrize("url, host_header", [
    ("https://api.example.com", "api.example.com"), ("http://h:8080/v1", "h:8080"), ("http://[::1]:80", "[::1]"),
    ("https://[2001:db8::1]:8443", "[2001:db8::1]:8443"),
    ("http://münchen.example:8080", "xn--mnchen-3ya.example:8080"),  # as aiohttp (yarl) sent it: ASCII only
])
def test_the_host_header_names_the_origin_as_http_wants_it(url, host_header):
    assert Origin.parse(url).host_header == host_header


async def test_calls_in_turn_share_one_upstream_connection(make_proxy, scripted, each_client):
    upstream = await scripted(plain(), plain(), plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    for _ in range(3):
        resp = await client.post(CHAT, data=chat_body())
        assert resp.status == 200 and await resp.read() == ANSWER
    assert upstream.connections == 1 and len(upstream.requests) == 3
    assert upstream.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")


async def test_an_answer_saying_connection_close_is_not_reused(make_proxy, scripted, each_client):
    upstream = await scripted((plain(ANSWER, "Connection: close"), True), plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    for _ in range(2):
        assert (await client.post(CHAT, data=chat_body())).status == 200
    assert upstream.connections == 2


async def test_an_idle_connection_the_upstream_closed_costs_no_call(make_proxy, scripted, each_client):
    upstream = await scripted((plain(), True), plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    assert (await client.post(CHAT, data=chat_body())).status == 200
    await asyncio.sleep(0.05)  # the upstream's FIN arrives while the connection is idle
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 200 and await resp.read() == ANSWER
    assert upstream.connections == 2


async def test_idle_connections_older_than_the_idle_timeout_are_closed_not_reused(make_proxy, scripted):
    upstream = await scripted(plain(), plain())
    client = await make_proxy(upstream_url=upstream.url, seams=Seams(upstream_idle_timeout_s=0.05))
    assert (await client.post(CHAT, data=chat_body())).status == 200
    await asyncio.sleep(0.1)
    assert (await client.post(CHAT, data=chat_body())).status == 200
    assert upstream.connections == 2


async def test_a_get_whose_reused_connection_died_is_retried_once_on_a_fresh_one(make_proxy, scripted, each_client):
    upstream = await scripted(plain(), HANG_UP, plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    assert (await client.get("/v1/models")).status == 200
    resp = await client.get("/v1/models")
    assert resp.status == 200 and await resp.read() == ANSWER
    assert upstream.connections == 2 and len(upstream.requests) == 3


async def test_a_post_whose_reused_connection_died_is_not_sent_twice(make_proxy, scripted, each_client):
    upstream = await scripted(plain(), HANG_UP, plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    assert (await client.post(CHAT, data=chat_body())).status == 200
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502  # the upstream may have acted on it: the client decides whether to retry
    assert "disconnected before answering" in (await entry_of(client, resp))["error"]
    assert len(upstream.requests) == 2


async def test_an_http_1_0_body_that_ends_at_close_is_forwarded_whole_and_logged(make_proxy, scripted, each_client):
    upstream = await scripted((b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + ANSWER, True))
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 200 and await resp.read() == ANSWER
    entry = await entry_of(client, resp)
    assert (entry["status"], entry["output_tokens"], entry["usage_source"]) == ("success", 2, "provider")


@pytest.mark.llmlog_client_only("aiohttp takes a reset for the end of a body that ends at close (HTTP/1.0 style): "
                                "the cut answer passes for whole")
async def test_an_http_1_0_body_cut_by_a_reset_is_an_error_not_a_whole_answer(make_proxy, each_client):
    async def serve(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + ANSWER[:20])
        await writer.drain()
        await asyncio.sleep(0.05)
        reset(writer)
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        client = await make_proxy(upstream_url=f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}",
                                  upstream__client=each_client)
        resp = await client.post(CHAT, data=chat_body())
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()  # cut, not a clean end: the client must not take the prefix for the answer
        entry = await entry_of(client, resp)
        assert entry["status"] == "error" and "broke off mid-response" in entry["error"]
    finally:
        server.close()


async def test_a_chunked_answer_with_trailers_arrives_whole(make_proxy, scripted, each_client):
    half = len(ANSWER) // 2
    wire = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x;note=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Checksum: abc\r\n\r\n"
            % (half, ANSWER[:half], len(ANSWER) - half, ANSWER[half:]))
    upstream = await scripted(wire, plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    for _ in range(2):
        resp = await client.post(CHAT, data=chat_body())
        assert await resp.read() == ANSWER
    assert upstream.connections == 1


async def test_an_answer_to_head_has_no_body_whatever_its_length_says_and_the_connection_is_reused(
        make_proxy, scripted, each_client):
    upstream = await scripted(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n",
                              plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    resp = await client.head("/v1/models")
    assert resp.status == 200 and resp.headers["Content-Length"] == "12" and await resp.read() == b""
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 200 and await resp.read() == ANSWER
    assert upstream.connections == 1 and upstream.requests[0].startswith(b"HEAD /v1/models HTTP/1.1\r\n")


async def test_an_interim_100_continue_is_skipped(make_proxy, scripted, each_client):
    upstream = await scripted(b"HTTP/1.1 100 Continue\r\n\r\n" + plain())
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 200 and await resp.read() == ANSWER


@pytest.mark.parametrize("garbage", [b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.1 200 OK\r\nBroken Header\r\n\r\n"])
async def test_an_answer_that_is_not_http_is_a_logged_502(make_proxy, scripted, garbage, each_client):
    upstream = await scripted((garbage, True))
    client = await make_proxy(upstream_url=upstream.url, upstream__client=each_client)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502 and (await resp.json())["error"]["type"] == "upstream_unreachable"
    entry = await entry_of(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 502) and "invalid HTTP" in entry["error"]


async def test_no_call_is_made_after_shutdown_and_idle_connections_are_closed(scripted):
    upstream = await scripted(plain(), plain())
    client = UpstreamClient(connect_timeout_s=5, read_timeout_s=5)
    answer = await client.request("POST", upstream.url, "/v1/chat/completions", [], b"{}")
    while await answer.read():
        pass
    answer.release()
    await client.close()
    with pytest.raises(ConnectionError):
        await client.request("POST", upstream.url, "/v1/chat/completions", [], b"{}")
    assert upstream.connections == 1


async def test_a_header_that_cannot_be_sent_is_refused_before_connecting(scripted):
    upstream = await scripted(plain())
    client = UpstreamClient(connect_timeout_s=5, read_timeout_s=5)
    with pytest.raises(upstream_client.UpstreamProtocolError, match="CR or LF"):
        await client.request("POST", upstream.url, "/", [("Authorization", "Bearer k\r\nX-Evil: 1")], b"{}")
    assert upstream.connections == 0
    await client.close()


class PausableTransport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.paused, self.closing = False, False

    def pause_reading(self):
        self.paused = True

    def resume_reading(self):
        self.paused = False

    def write(self, data):
        pass

    def is_closing(self):
        return self.closing

    def close(self):
        self.closing = True


async def test_a_slow_reader_pauses_the_socket_and_resumes_it_once_drained():
    connection = _Connection(UpstreamClient(connect_timeout_s=1, read_timeout_s=1), Origin.parse("http://h"))
    transport = PausableTransport()
    connection.connection_made(transport)
    connection.start("POST", b"request")
    size = 512 * 1024
    connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
    piece = b"x" * 16384
    for _ in range(upstream_client.HIGH_WATER_BYTES // len(piece) + 1):
        connection.data_received(piece)
    assert transport.paused
    taken = 0
    while transport.paused:
        taken += len(await connection.read())
    assert connection._buffered <= upstream_client.LOW_WATER_BYTES
    assert taken >= upstream_client.HIGH_WATER_BYTES - upstream_client.LOW_WATER_BYTES


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate for 127.0.0.1 that is its own authority (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    return cert, key


@pytest.fixture
async def tls_upstream(aiohttp_server, fake, self_signed):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed)
    server = await aiohttp_server(fake.app(), host="127.0.0.1", ssl=context)
    return f"https://127.0.0.1:{server.port}"


async def test_https_upstreams_are_verified_against_the_system_trust_store(make_proxy, tls_upstream, self_signed,
                                                                         monkeypatch, each_client):
    monkeypatch.setenv("SSL_CERT_FILE", self_signed[0])  # what OpenSSL's default paths read first
    client = await make_proxy(upstream_url=tls_upstream, upstream__client=each_client)
    resp = await client.post(CHAT, data=chat_body("over tls"))
    assert resp.status == 200
    assert "over tls" in (await resp.json())["choices"][0]["message"]["content"]
    resp = await client.post(CHAT, data=chat_body(stream=True))
    assert resp.status == 200 and (await resp.read()).rstrip().endswith(b"data: [DONE]")


async def test_an_untrusted_certificate_is_a_logged_502(make_proxy, tls_upstream, monkeypatch, each_client):
    monkeypatch.setenv("SSL_CERT_FILE", os.devnull)
    client = await make_proxy(upstream_url=tls_upstream, upstream__client=each_client)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502
    assert "certificate verify failed" in (await entry_of(client, resp))["error"]


async def test_concurrent_calls_each_get_a_connection_and_later_calls_reuse_them(make_proxy, upstream, fake):
    client = await make_proxy()
    fake.header_delay_s = 0.05  # all 20 are in flight at once

    async def call(i: int) -> str:
        resp = await client.post(CHAT, data=chat_body(f"word{i}"))
        assert resp.status == 200
        return (await resp.json())["choices"][0]["message"]["content"]

    first = await asyncio.gather(*(call(i) for i in range(20)))
    assert all(f"word{i}" in text for i, text in enumerate(first))  # each answer went to its own caller
    pool = client.app[FORWARDER].client
    idle = sum(len(connections) for connections in pool._idle.values())
    assert idle == 20
    fake.header_delay_s = 0.0
    await asyncio.gather(*(call(i) for i in range(20)))
    assert sum(len(connections) for connections in pool._idle.values()) == 20  # reused, none added


async def test_a_client_expecting_100_continue_gets_its_answer(make_proxy, each_client):
    client = await make_proxy(upstream__client=each_client)
    resp = await client.post(CHAT, data=chat_body("expecting"), expect100=True)
    assert resp.status == 200
    assert "expecting" in (await resp.json())["choices"][0]["message"]["content"]


async def test_a_large_request_body_reaches_the_upstream_whole(make_proxy, fake, each_client):
    client = await make_proxy(upstream__client=each_client)
    text = "x" * (900 * 1024)  # several socket writes; the fake upstream takes up to 1 MiB
    body = chat_body(text)
    resp = await client.post(CHAT, data=body)
    assert resp.status == 200
    assert fake.received[-1]["body"] == body


async def test_chunks_that_arrive_in_one_read_are_passed_on_as_one_piece():
    connection = _Connection(UpstreamClient(connect_timeout_s=1, read_timeout_s=1), Origin.parse("http://h"))
    connection.connection_made(PausableTransport())
    connection.start("POST", b"request")
    connection.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"6\r\ndata: \r\n3\r\nA\n\n\r\n")
    connection.data_received(b"3\r\nB\n\n\r\n0\r\n\r\n")
    assert [await connection.read(), await connection.read(), await connection.read()] == [
        b"data: A\n\n", b"B\n\n", b""]


@pytest.mark.parametrize("method, wire", [
    ("POST", plain()),
    ("POST", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("POST", b"HTTP/1.1 100 Continue\r\n\r\n" + plain()),
    ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"),
])
async def test_an_answer_leaves_no_reference_cycle_for_the_garbage_collector(scripted, method, wire):
    """Cyclic garbage is freed only by the collector, whose passes then run more often and longer on
    the request path: every answer must be freed by reference counting alone. (A failed exchange
    keeps its exception, whose traceback holds the connection: rare enough for the collector.)"""
    upstream = await scripted(wire, wire)
    client = UpstreamClient(connect_timeout_s=5, read_timeout_s=5)
    # generation 0 only: with the collector off, every object made from here on stays there, and a
    # whole-heap pass costs seconds once the test session has built up a large heap
    gc.collect(0)
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(2):  # the second exchange lets go of the first's answer
            answer = await client.request(method, upstream.url, "/v1/chat/completions", [], b"{}")
            while await answer.read():
                pass
            answer.release()
        assert upstream.connections == 1
        gc.collect(0)
        left = [type(o).__qualname__ for o in gc.garbage
                if type(o).__module__.startswith(("llmlog.proxy", "httptools"))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        await client.close()
    assert left == []
