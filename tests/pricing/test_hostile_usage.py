"""Issue 14 item 7: a provider's usage that is out of range or malformed never loses the entry.

The answer is forwarded unchanged; the entry is stored with usage unknown (`usage_source` "none",
token and cost columns empty) and an `error` text that says why. Driven over HTTP through a real
proxy against an upstream on 127.0.0.1 that sends the hostile answer, and once with the openai SDK.
"""

from __future__ import annotations

import dataclasses

import anthropic
import openai
import orjson
import pytest

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import Provider, load_config
from tests.conftest import chat_body, flushed, served
from tests.fakes import faulty_upstream as fu

# raw JSON text of each hostile count, as a provider would put it on the wire
HOSTILE = {
    "2**63": b"9223372036854775808",
    "2**64": b"18446744073709551616",
    "1e20": b"1e20",
    "1e308": b"1e308",
    "negative": b"-5",
    "fraction": b"3.5",
    "string": b'"12"',
    "bool": b"true",
    "int64-but-absurd": b"9223372036854775000",
    "ten-trillion": b"10000000000000",
}


def _sse(*events: tuple[str | None, bytes]) -> bytes:
    out = b""
    for name, data in events:
        out += (b"event: " + name.encode() + b"\n" if name else b"") + b"data: " + data + b"\n\n"
    return out


def chat_json(v: bytes) -> bytes:
    return (b'{"id":"chatcmpl-h","object":"chat.completion","created":1732000000,'
            b'"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",'
            b'"content":"Hi there"},"finish_reason":"stop"}],'
            b'"usage":{"prompt_tokens":' + v + b',"completion_tokens":2,"total_tokens":14}}')


def chat_json_cached(v: bytes) -> bytes:
    return (b'{"id":"chatcmpl-h","object":"chat.completion","created":1732000000,'
            b'"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",'
            b'"content":"Hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,'
            b'"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":' + v + b'}}}')


def chat_sse(v: bytes) -> bytes:
    head = b'{"id":"chatcmpl-h","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o-mini-2024-07-18",'
    return _sse(
        (None, head + b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi there"},'
                      b'"finish_reason":null}]}'),
        (None, head + b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'),
        (None, head + b'"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":' + v + b',"total_tokens":14}}'),
        (None, b"[DONE]"),
    )


def _response(v: bytes) -> bytes:
    return (b'{"id":"resp_h","object":"response","status":"completed","model":"gpt-4o-mini-2024-07-18",'
            b'"output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi there"}]}],'
            b'"usage":{"input_tokens":12,"output_tokens":' + v + b',"total_tokens":14}}')


def responses_json(v: bytes) -> bytes:
    return _response(v)


def responses_sse(v: bytes) -> bytes:
    return _sse(
        ("response.output_text.delta", b'{"type":"response.output_text.delta","output_index":0,'
                                       b'"content_index":0,"delta":"Hi there"}'),
        ("response.completed", b'{"type":"response.completed","response":' + _response(v) + b"}"),
    )


def anthropic_json(v: bytes) -> bytes:
    return (b'{"id":"msg_h","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",'
            b'"content":[{"type":"text","text":"Hi there"}],"stop_reason":"end_turn",'
            b'"usage":{"input_tokens":' + v + b',"output_tokens":2}}')


def _anthropic_stream(start_usage: bytes, delta_usage: bytes) -> bytes:
    return _sse(
        ("message_start", b'{"type":"message_start","message":{"id":"msg_h","type":"message","role":"assistant",'
                          b'"model":"claude-3-5-haiku-20241022","content":[],"usage":' + start_usage + b"}}"),
        ("content_block_start", b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
        ("content_block_delta", b'{"type":"content_block_delta","index":0,'
                                b'"delta":{"type":"text_delta","text":"Hi there"}}'),
        ("content_block_stop", b'{"type":"content_block_stop","index":0}'),
        ("message_delta", b'{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":' + delta_usage + b"}"),
        ("message_stop", b'{"type":"message_stop"}'),
    )


def anthropic_start(v: bytes) -> bytes:
    return _anthropic_stream(b'{"input_tokens":' + v + b',"output_tokens":1}', b'{"output_tokens":2}')


def anthropic_delta(v: bytes) -> bytes:
    return _anthropic_stream(b'{"input_tokens":12,"output_tokens":1}', b'{"output_tokens":' + v + b"}")


# (shape, path, content type, answer, the field that carries the hostile count)
JSON, SSE = "application/json", "text/event-stream"
SHAPES = {
    "chat-json": ("/v1/chat/completions", JSON, chat_json, "prompt_tokens"),
    "chat-json-cached": ("/v1/chat/completions", JSON, chat_json_cached, "cached_tokens"),
    "chat-sse": ("/v1/chat/completions", SSE, chat_sse, "completion_tokens"),
    "responses-json": ("/v1/responses", JSON, responses_json, "output_tokens"),
    "responses-sse": ("/v1/responses", SSE, responses_sse, "output_tokens"),
    "anthropic-json": ("/anthropic/v1/messages", JSON, anthropic_json, "input_tokens"),
    "anthropic-message_start": ("/anthropic/v1/messages", SSE, anthropic_start, "input_tokens"),
    "anthropic-message_delta": ("/anthropic/v1/messages", SSE, anthropic_delta, "output_tokens"),
}


def answering(content_type: str, body: bytes) -> fu.Script:
    async def script(upstream, request, writer):
        writer.write(fu.response_head(200, "OK", content_type, len(body)) + body)
        await writer.drain()
    return script


@pytest.fixture
async def hostile_proxy(aiohttp_client, db_path):
    """A proxy with an OpenAI-format provider at `/` and an Anthropic one at `/anthropic`, both
    pointed at an upstream that answers every request with the given body."""
    servers: list[fu.FaultyUpstream] = []

    async def build(content_type: str, body: bytes):
        upstream = await fu.FaultyUpstream(answering(content_type, body)).start()
        servers.append(upstream)
        config = load_config(None, env={}, overrides={"store.path": db_path, "store.batch_interval_ms": 20})
        providers = [Provider("openai", upstream.url, "/"),
                     Provider("anthropic", upstream.url, "/anthropic", "anthropic")]
        return await served(aiohttp_client, make_app(dataclasses.replace(config, providers=providers)))
    yield build
    for server in servers:
        await server.stop()


def request_for(path: str, stream: bool) -> bytes:
    if path.startswith("/anthropic"):
        return orjson.dumps({"model": "claude-3-5-haiku-20241022", "max_tokens": 16, "stream": stream,
                             "messages": [{"role": "user", "content": "hi"}]})
    if path == "/v1/responses":
        return orjson.dumps({"model": "gpt-4o-mini", "input": "hi", "stream": stream})
    return chat_body("hi", stream=stream)


def assert_unknown_usage(entry: dict, field: str) -> None:
    """Usage unknown, said so on the entry; the rest of the call kept."""
    assert entry["status"] == "success" and entry["status_code"] == 200
    assert entry["usage_source"] == "none"
    for name in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
                 "reasoning_tokens", "total_tokens", "cost_usd", "cost_micros"):
        assert entry[name] is None, name
    assert entry["priced"] is False
    assert "usage" in entry["error"] and field in entry["error"] and "unknown" in entry["error"]
    assert entry["output"]["text"] == "Hi there"


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("shape", list(SHAPES))
async def test_hostile_usage_is_forwarded_unchanged_and_stored_as_unknown(hostile_proxy, shape, value):
    path, content_type, make, field = SHAPES[shape]
    answer = make(value)
    client = await hostile_proxy(content_type, answer)
    resp = await client.post(path, data=request_for(path, content_type == SSE),
                             headers={"content-type": "application/json"})
    assert resp.status == 200
    assert await resp.read() == answer
    await flushed(client)
    got = await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")
    assert got.status == 200, await got.text()
    assert_unknown_usage(await got.json(), field)


async def test_sane_usage_beside_them_is_still_read(hostile_proxy):
    """The control: the same answers with a plain count are read as the provider's usage."""
    client = await hostile_proxy(SSE, anthropic_delta(b"7"))
    resp = await client.post("/anthropic/v1/messages", data=request_for("/anthropic/v1/messages", True))
    assert resp.status == 200
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert (entry["usage_source"], entry["input_tokens"], entry["output_tokens"], entry["error"]) == (
        "provider", 12, 7, None)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("value", [b"1e20", b"18446744073709551616", b"9223372036854775808"])
async def test_openai_sdk_gets_its_answer_and_the_call_is_logged(hostile_proxy, stream, value):
    answer = chat_sse(value) if stream else chat_json(value)
    client = await hostile_proxy(SSE if stream else JSON, answer)
    sdk = openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key="sk-test", max_retries=0)
    try:
        messages = [{"role": "user", "content": "hi"}]
        if stream:
            raw = await sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages,
                                                                      stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
        else:
            raw = await sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
            text = raw.parse().choices[0].message.content
    finally:
        await sdk.close()
    assert text == "Hi there"
    await flushed(client)
    got = await client.get(f"/v1/logs/{raw.headers['x-llmlog-id']}")
    assert got.status == 200
    assert_unknown_usage(await got.json(), "prompt_tokens" if not stream else "completion_tokens")


@pytest.mark.parametrize("value", [b"1e20", b"-5"])
async def test_openai_sdk_responses_api_gets_its_answer_and_the_call_is_logged(hostile_proxy, value):
    client = await hostile_proxy(JSON, responses_json(value))
    sdk = openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key="sk-test", max_retries=0)
    try:
        raw = await sdk.responses.with_raw_response.create(model="gpt-4o-mini", input="hi")
        assert raw.parse().output_text == "Hi there"
    finally:
        await sdk.close()
    await flushed(client)
    got = await client.get(f"/v1/logs/{raw.headers['x-llmlog-id']}")
    assert got.status == 200
    assert_unknown_usage(await got.json(), "output_tokens")


@pytest.mark.parametrize("shape", ["anthropic-json", "anthropic-message_delta"])
async def test_anthropic_sdk_gets_its_answer_and_the_call_is_logged(hostile_proxy, shape):
    path, content_type, make, field = SHAPES[shape]
    client = await hostile_proxy(content_type, make(b"18446744073709551616"))
    sdk = anthropic.AsyncAnthropic(base_url=str(client.make_url("/anthropic")), api_key="sk-ant-test",
                                   max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    try:
        if content_type == SSE:
            async with sdk.messages.stream(model="claude-3-5-haiku-20241022", max_tokens=16,
                                           messages=messages) as stream:
                text = "".join([piece async for piece in stream.text_stream])
                call_id = stream.response.headers["x-llmlog-id"]
        else:
            raw = await sdk.messages.with_raw_response.create(model="claude-3-5-haiku-20241022", max_tokens=16,
                                                              messages=messages)
            text, call_id = (await raw.parse()).content[0].text, raw.headers["x-llmlog-id"]
    finally:
        await sdk.close()
    assert text == "Hi there"
    await flushed(client)
    got = await client.get(f"/v1/logs/{call_id}")
    assert got.status == 200
    assert_unknown_usage(await got.json(), field)
