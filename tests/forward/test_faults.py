"""The fault matrix of issue 6: for each fault, what the client got and what was logged (DESIGN §4)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from llmlog.pricing.usage.estimate import count_text_tokens
from tests.conftest import chat_body, flushed
from tests.fakes import faulty_upstream as fu

CHAT = "/v1/chat/completions"


@pytest.fixture
def make_proxy(make_proxy, each_client):
    """Every fault through each upstream client (`upstream.client`): the client and the log see the
    same (but for the cases marked `llmlog_client_only`, where aiohttp is laxer by design)."""
    async def build(upstream_url: str | None = None, **overrides):
        return await make_proxy(upstream_url, upstream__client=each_client, **overrides)
    return build


@pytest.fixture
async def faulty():
    started: list[fu.FaultyUpstream] = []

    async def start(script) -> fu.FaultyUpstream:
        server = await fu.FaultyUpstream(script).start()
        started.append(server)
        return server
    yield start
    for server in started:
        await server.stop()


async def assert_body_cut(resp) -> None:
    """The client must see an incomplete body as an error, never as a complete answer (nor hang)."""
    with pytest.raises(aiohttp.ClientPayloadError):
        await asyncio.wait_for(resp.read(), 5.0)


def assert_estimated_from(entry: dict, arrived: str) -> None:
    """A call cut short keeps the output that arrived and counts its tokens (DESIGN §5)."""
    assert entry["output"]["text"] == arrived
    assert entry["usage_source"] == "estimated"
    assert entry["output_tokens"] == count_text_tokens("gpt-4o-mini", arrived) > 0


async def logged(client, resp) -> dict:
    await flushed(client)
    got = await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")
    assert got.status == 200
    return await got.json()


async def test_upstream_refused_is_502_and_logged_error(make_proxy, unused_tcp_port):
    client = await make_proxy(upstream_url=f"http://127.0.0.1:{unused_tcp_port}")
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502
    assert (await resp.json())["error"]["type"] == "upstream_unreachable"
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"], entry["model"]) == ("error", 502, "gpt-4o-mini")
    assert entry["error"] and entry["usage_source"] == "none"


async def test_dns_failure_is_502_quickly(make_proxy):
    client = await make_proxy(upstream_url="http://nonexistent.invalid")
    started = time.monotonic()
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502
    assert time.monotonic() - started < 3.0
    assert (await resp.json())["error"]["type"] == "upstream_unreachable"
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 502)
    assert "nonexistent.invalid" in entry["error"]


async def test_upstream_closing_before_answering_is_502(make_proxy, faulty):
    upstream = await faulty(fu.hang_up())
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502
    assert (await resp.json())["error"]["type"] == "upstream_unreachable"
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 502)
    assert "disconnected" in entry["error"].lower()


async def test_upstream_silent_before_headers_is_504_timeout(make_proxy, faulty):
    upstream = await faulty(fu.stall_before_headers(3.0))
    client = await make_proxy(upstream_url=upstream.url, upstream__read_timeout_s=0.3)
    started = time.monotonic()
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 504 and time.monotonic() - started < 2.0
    assert (await resp.json())["error"]["type"] == "upstream_timeout"
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("timeout", 504)
    assert entry["output"] is None or entry["output"]["text"] in ("", None)


async def test_upstream_silent_between_chunks_cuts_client_and_keeps_partial_output(make_proxy, faulty):
    upstream = await faulty(fu.stream_then(["Hello", " wor"], "stall", stall_s=3.0))
    client = await make_proxy(upstream_url=upstream.url, upstream__read_timeout_s=0.4)
    resp = await client.post(CHAT, data=chat_body(stream=True))
    assert resp.status == 200
    await assert_body_cut(resp)
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("timeout", 200)
    assert "went silent mid-response" in entry["error"]
    assert entry["output"]["text"] == "Hello wor"
    assert_estimated_from(entry, "Hello wor")
    assert upstream.closed_by_peer_at is not None


async def test_upstream_reset_mid_stream_is_error_with_partial_output(make_proxy, faulty):
    upstream = await faulty(fu.stream_then(["Partial", " answer"], "reset"))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body(stream=True))
    assert resp.status == 200
    await assert_body_cut(resp)
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 200)
    assert "broke off mid-response" in entry["error"]
    assert_estimated_from(entry, "Partial answer")


async def test_upstream_5xx_json_error_passes_through_and_logs_provider_message(make_proxy, faulty):
    body = orjson.dumps({"error": {"message": "The server is overloaded, retry later.",
                                   "type": "server_error", "param": None, "code": None}})
    upstream = await faulty(fu.fixed(500, "Internal Server Error", "application/json", body))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 500 and await resp.read() == body
    assert resp.headers["Content-Type"] == "application/json"
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 500)
    assert entry["error"] == "The server is overloaded, retry later."
    assert entry["usage_source"] == "none" and entry["output_tokens"] == 0


async def test_upstream_5xx_plain_text_passes_through(make_proxy, faulty):
    upstream = await faulty(fu.fixed(503, "Service Unavailable", "text/plain", b"upstream connect error"))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 503 and await resp.read() == b"upstream connect error"
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 503)
    assert "503" in entry["error"]
    assert entry["response"]["body"] == "upstream connect error"


async def test_malformed_sse_is_forwarded_unchanged_and_logged_success(make_proxy, faulty):
    garbage = (b"data: {not json at all\n\n" + b": a comment\n\n" + b"\xff\xfe binary junk\n"
               + b"event: weird\nnodata\n\n" + fu.sse_delta("ok") + b"data: [DONE]\n\n")
    upstream = await faulty(fu.raw_sse(garbage))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body(stream=True))
    assert resp.status == 200 and await resp.read() == garbage
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"], entry["stream"]) == ("success", 200, True)
    assert entry["error"] is None and entry["output"]["text"] == "ok"


async def test_truncated_json_body_is_client_error_and_logged_error(make_proxy, faulty):
    partial = b'{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"mess'
    upstream = await faulty(fu.fixed(200, "OK", "application/json", partial, declared_length=500))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 200
    await assert_body_cut(resp)
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 200)
    assert "broke off mid-response" in entry["error"] and "500" in entry["error"]
    assert entry["response"]["body"] == partial.decode()


LAX_LINE_ENDS = pytest.mark.llmlog_client_only(
    "aiohttp's parser accepts bare-LF line ends in a head (RFC 9112 §2.2 allows it; llhttp refuses them: the "
    "leniency behind request smuggling)")
JSON_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
OVERSIZE_HEADER = b"X-Padding: " + b"p" * 100_000 + b"\r\n"  # past both clients' limits on a head
STALL_S = 5.0  # the upstream's silence after its fault, longer than the read timeout
READ_TIMEOUT_S = 3.0


@pytest.mark.parametrize("writes, reason", [
    pytest.param([b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"],
                 "101 Switching Protocols", id="switching-protocols"),
    pytest.param([JSON_HEAD + OVERSIZE_HEADER + b"Content-Length: 2\r\n\r\n{}"], "invalid HTTP from upstream",
                 id="head-over-the-limit-and-the-body-in-one-write"),
    pytest.param([JSON_HEAD + OVERSIZE_HEADER[:50_000], OVERSIZE_HEADER[50_000:] + b"Content-Length: 2\r\n\r\n{}"],
                 "invalid HTTP from upstream", id="head-over-the-limit-in-two-writes"),
    pytest.param([b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 2\n\n{}"],
                 "invalid HTTP from upstream: Missing expected CR", id="bare-lf-line-ends", marks=LAX_LINE_ENDS),
    pytest.param([b"HTTP/1.1 200 OK\r\nContent-Type: application/json\nContent-Length: 2\r\n\r\n{}"],
                 "invalid HTTP from upstream: Missing expected CR", id="one-bare-lf", marks=LAX_LINE_ENDS),
])
async def test_an_answer_whose_head_breaks_http_is_a_logged_502_at_once(make_proxy, faulty, writes, reason):
    upstream = await faulty(fu.raw(*writes, then_silent_s=STALL_S))
    client = await make_proxy(upstream_url=upstream.url, upstream__read_timeout_s=READ_TIMEOUT_S)
    started = time.monotonic()
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502 and (await resp.json())["error"]["type"] == "upstream_unreachable"
    assert time.monotonic() - started < READ_TIMEOUT_S - 1  # the fault, not the silence after it, ended the call
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 502)
    assert reason in entry["error"]
    assert "X-Padding" not in str(entry["response"])


@pytest.mark.parametrize("head", [
    pytest.param(b"HTTP/1.1 200 O\x1bK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                 id="escape-in-the-reason"),
    pytest.param(JSON_HEAD + b"X-E: \x1b]0;HDR\x07\r\nContent-Length: 2\r\n\r\n{}", id="escape-in-a-header"),
    pytest.param(JSON_HEAD + b"X-E: a\x7fb\r\nContent-Length: 2\r\n\r\n{}", id="delete-in-a-header"),
])
async def test_a_head_with_control_characters_is_a_logged_502_never_a_lost_call(make_proxy, faulty, head):
    """One client's parser refuses these, the other passes them to aiohttp's response, which will not
    send them: either way the client gets a 502 and the call is logged."""
    upstream = await faulty(fu.raw(head))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 502)
    assert "invalid HTTP from upstream" in entry["error"] or "head llmlog cannot pass on" in entry["error"]


@pytest.mark.parametrize("fault, reason", [
    pytest.param(b"zz\r\n", "Invalid character in chunk size", id="bad-chunk-size"),
    # both refuse it, in their words: "Missing expected CR after chunk size", "Expected LF after chunk size"
    pytest.param(b"5\nhello\r\n", "after chunk size", id="bare-lf-after-chunk-size"),
])
async def test_bad_chunk_framing_after_the_first_event_cuts_the_client_off_at_once_and_says_why(
        make_proxy, faulty, fault, reason):
    upstream = await faulty(fu.raw(fu.SSE_HEAD + fu.chunked(fu.sse_delta("Hello")), fault, then_silent_s=STALL_S))
    client = await make_proxy(upstream_url=upstream.url, upstream__read_timeout_s=READ_TIMEOUT_S)
    started = time.monotonic()
    resp = await client.post(CHAT, data=chat_body(stream=True))
    assert resp.status == 200  # the head was good and went out before the body broke
    await assert_body_cut(resp)
    assert time.monotonic() - started < READ_TIMEOUT_S - 1  # not the read timeout, nor the client giving up
    entry = await logged(client, resp)
    assert (entry["status"], entry["status_code"]) == ("error", 200)
    assert "broke off mid-response: invalid HTTP from upstream: " in entry["error"] and reason in entry["error"]
    assert_estimated_from(entry, "Hello")
    assert upstream.closed_by_peer_at is not None  # the broken connection is dropped, not pooled


@pytest.mark.llmlog_client_only("aiohttp refuses a header line over 8190 bytes (its max_field_size); llmlog's own "
                                "client limits the whole head to 64 KiB instead")
async def test_a_long_header_line_within_the_head_limit_is_passed_on(make_proxy, faulty):
    long_value = "v" * 20_000
    upstream = await faulty(fu.raw(JSON_HEAD + f"X-Long: {long_value}\r\n".encode() + b"Content-Length: 2\r\n\r\n{}"))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body(), max_field_size=32 * 1024)  # this test's own aiohttp client
    assert resp.status == 200 and resp.headers["X-Long"] == long_value and await resp.read() == b"{}"


@pytest.mark.parametrize("interval_s", [0.05, 5.0], ids=["upstream-streaming", "upstream-silent"])
async def test_client_hangup_mid_stream_closes_upstream_and_estimates(make_proxy, faulty, interval_s):
    upstream = await faulty(fu.endless_stream(interval_s=interval_s, limit_s=8.0))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=chat_body(stream=True))
    assert resp.status == 200
    first = await resp.content.readany()
    assert b"w0" in first
    call_id = resp.headers["x-llmlog-id"]
    hung_up = time.monotonic()
    resp.close()
    for _ in range(40):
        if upstream.closed_by_peer_at is not None:
            break
        await asyncio.sleep(0.05)
    assert upstream.closed_by_peer_at is not None, "the proxy kept the upstream stream open"
    assert upstream.closed_by_peer_at - hung_up < 2.0
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{call_id}")).json()
    assert (entry["status"], entry["status_code"]) == ("client_closed", 200)
    assert entry["output"]["text"].startswith("w0 ")
    assert_estimated_from(entry, entry["output"]["text"])


async def test_malformed_client_json_is_forwarded_unchanged_and_logged_without_model(make_proxy, faulty):
    sent = b'{"model": "gpt-4o-mini", "messages": [ oops \xff'
    answer = orjson.dumps({"error": {"message": "We could not parse the JSON body of your request.",
                                     "type": "invalid_request_error", "param": None, "code": None}})
    upstream = await faulty(fu.fixed(400, "Bad Request", "application/json", answer))
    client = await make_proxy(upstream_url=upstream.url)
    resp = await client.post(CHAT, data=sent, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and await resp.read() == answer
    assert upstream.received[0].body == sent
    entry = await logged(client, resp)
    assert entry["model"] is None
    assert (entry["status"], entry["status_code"]) == ("error", 400)
    assert entry["error"] == "We could not parse the JSON body of your request."


async def test_oversize_request_is_forwarded_whole_and_stored_truncated(make_proxy, faulty):
    sent = chat_body("x" * 5000)
    answer = orjson.dumps({"id": "chatcmpl-o", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                        "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 1010, "completion_tokens": 1, "total_tokens": 1011}})
    upstream = await faulty(fu.fixed(200, "OK", "application/json", answer))
    client = await make_proxy(upstream_url=upstream.url, store__max_body_bytes=1000)
    resp = await client.post(CHAT, data=sent)
    assert resp.status == 200 and await resp.read() == answer
    assert upstream.received[0].body == sent
    entry = await logged(client, resp)
    assert entry["status"] == "success" and entry["model"] == "gpt-4o-mini"
    assert entry["request"]["truncated"] is True
    assert entry["request"]["body"] == sent[:1000].decode()
    assert entry["input_tokens"] == 1010 and entry["usage_source"] == "provider"


async def test_client_giving_up_before_headers_is_client_closed(make_proxy, faulty):
    upstream = await faulty(fu.stall_before_headers(5.0))
    client = await make_proxy(upstream_url=upstream.url)
    with pytest.raises(asyncio.TimeoutError):
        await client.post(CHAT, data=chat_body(), timeout=aiohttp.ClientTimeout(total=0.3))
    gave_up = time.monotonic()
    for _ in range(40):
        if upstream.closed_by_peer_at is not None:
            break
        await asyncio.sleep(0.05)
    assert upstream.closed_by_peer_at is not None and upstream.closed_by_peer_at - gave_up < 2.0
    for _ in range(40):  # the handler logs the call just after closing the upstream side
        await flushed(client)
        logs = (await (await client.get("/v1/logs")).json())["logs"]
        if logs:
            break
        await asyncio.sleep(0.05)
    [entry] = logs
    assert (entry["status"], entry["status_code"], entry["model"]) == ("client_closed", None, "gpt-4o-mini")
    assert entry["output_tokens"] == 0


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_client_hanging_up_while_uploading_leaves_a_client_closed_entry(make_proxy, fake, framing):
    from tests.fakes.raw_http import hang_up_mid_body
    client = await make_proxy()
    sent = chat_body("only part of this")[:40]
    length = b"Content-Length: 4000" if framing == "content-length" else b"Transfer-Encoding: chunked"
    body = sent if framing == "content-length" else b"%x\r\n%s\r\n" % (len(sent), sent)
    await hang_up_mid_body(client, b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/json\r\nx-llmlog-user: uploader\r\n" + length, body)
    logs = []
    for _ in range(100):
        await flushed(client)
        logs = (await (await client.get("/v1/logs")).json())["logs"]
        if logs:
            break
        await asyncio.sleep(0.02)
    [entry] = logs
    assert (entry["status"], entry["status_code"], entry["user_id"]) == ("client_closed", None, "uploader")
    assert "sending the request body" in entry["error"]
    whole = await (await client.get(f"/v1/logs/{entry['id']}")).json()
    assert whole["request"]["body"] == sent.decode()  # what had arrived
    assert fake.received == []  # an incomplete request is never forwarded


async def test_a_request_body_over_the_limit_is_413_and_not_forwarded(make_proxy, fake):
    client = await make_proxy(server__max_request_bytes=1000)
    resp = await client.post(CHAT, data=chat_body("x" * 2000))
    assert resp.status == 413
    assert (await resp.json())["error"]["type"] == "request_too_large"
    assert fake.received == []
    assert (await client.post(CHAT, data=chat_body("small"))).status == 200
