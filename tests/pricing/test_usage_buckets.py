"""Every usage bucket a provider bills is read from its real answer shape and priced at its own rate,
through the running proxy (issue 15): Anthropic 1-hour cache writes, DeepSeek cache hits, reasoning
counted beside completion tokens, audio tokens, Groq's stream usage."""

from __future__ import annotations

import orjson
import pytest

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import load_config
from tests.conftest import chat_body, flushed, served
from tests.fakes import faulty_upstream as fu

ANTHROPIC_USAGE = {"input_tokens": 100, "output_tokens": 200, "cache_read_input_tokens": 500,
                   "cache_creation_input_tokens": 3000,
                   "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}}
# claude-sonnet-4-5 at https://platform.claude.com/docs/en/about-claude/pricing (USD per 1M tokens):
# input 3, cache read 0.30, 5-minute write 3.75, 1-hour write 6 (2x input), output 15
SONNET_45_MICROS = {"input": 100 * 3, "cached_input": 500 * 0.3, "cache_write": 1000 * 3.75,
                    "cache_write_1h": 2000 * 6, "output": 200 * 15}


def anthropic_json() -> bytes:
    return orjson.dumps({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                         "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
                         "stop_sequence": None, "usage": ANTHROPIC_USAGE})


def anthropic_sse() -> bytes:
    start = {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {**ANTHROPIC_USAGE, "output_tokens": 1}}}
    events = [("message_start", start),
              ("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "text_delta", "text": "Hi"}}),
              ("content_block_stop", {"type": "content_block_stop", "index": 0}),
              ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": 200}}),
              ("message_stop", {"type": "message_stop"})]
    return b"".join(b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n" for name, data in events)


async def _logged(aiohttp_client, tmp_path, script, path: str, body: bytes, *, fmt: str = "openai",
                  prices: str = "") -> dict:
    """The entry of one call through a proxy whose one provider (`fmt`) is an upstream playing `script`."""
    upstream = await fu.FaultyUpstream(script).start()
    config = tmp_path / "llmlog.toml"
    config.write_text(f"""
[store]
path = "{tmp_path / 'llmlog.db'}"
batch_interval_ms = 20
{prices}
[[providers]]
name = "{fmt}"
base_url = "{upstream.url}"
format = "{fmt}"
""")
    try:
        client = await served(aiohttp_client, make_app(load_config(config, env={})))
        resp = await client.post(path, data=body)
        assert resp.status == 200
        await resp.read()
        await flushed(client)
        return await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    finally:
        await upstream.stop()


def _buckets(entry: dict) -> dict:
    return {b["bucket"]: (b["tokens"], b["cost_micros"]) for b in entry["cost_breakdown"]["buckets"]}


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_one_hour_cache_writes_are_billed_at_their_own_rate(aiohttp_client, tmp_path, stream):
    answer = fu.raw_sse(anthropic_sse()) if stream else fu.fixed(200, "OK", "application/json", anthropic_json())
    body = orjson.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": stream,
                         "messages": [{"role": "user", "content": "hi"}]})
    entry = await _logged(aiohttp_client, tmp_path, answer, "/v1/messages", body, fmt="anthropic")
    assert (entry["input_tokens"], entry["cache_write_tokens"], entry["cache_write_1h_tokens"]) == (3600, 3000, 2000)
    assert _buckets(entry) == {
        "input": (100, 300), "cached_input": (500, 150), "cache_write": (1000, 3750),
        "cache_write_1h": (2000, 12000), "output": (200, 3000)}
    assert entry["cost_micros"] == round(sum(SONNET_45_MICROS.values())) == 19200


def openai_answer(model: str, usage: dict) -> bytes:
    return orjson.dumps({"id": "chatcmpl-b", "object": "chat.completion", "created": 1732000000, "model": model,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                      "finish_reason": "stop"}], "usage": usage})


async def test_deepseek_cache_hits_are_billed_at_the_cache_rate(aiohttp_client, tmp_path):
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
             "prompt_cache_hit_tokens": 800, "prompt_cache_miss_tokens": 200}
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             openai_answer("deepseek-chat", usage)),
                          "/v1/chat/completions", chat_body(model="deepseek-chat"))
    assert entry["cached_input_tokens"] == 800
    # https://api-docs.deepseek.com/quick_start/pricing: miss 0.28, hit 0.028, output 0.42 per 1M
    assert _buckets(entry) == {"input": (200, 56), "cached_input": (800, 22), "output": (100, 42)}


@pytest.mark.parametrize("usage,output,reasoning", [
    # xAI: reasoning beside completion_tokens; total counts both
    ({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 115,
      "completion_tokens_details": {"reasoning_tokens": 100}}, 105, 100),
    # more reasoning than completion tokens: it cannot be inside them
    ({"prompt_tokens": 10, "completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 40}}, 45, 40),
    # OpenAI o-series: reasoning inside completion_tokens, taken as it is
    ({"prompt_tokens": 10, "completion_tokens": 105, "total_tokens": 115,
      "completion_tokens_details": {"reasoning_tokens": 100}}, 105, 100),
])
async def test_reasoning_is_never_undercounted_nor_counted_twice(aiohttp_client, tmp_path, usage, output, reasoning):
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             openai_answer("gpt-4o-mini", usage)),
                          "/v1/chat/completions", chat_body())
    assert (entry["output_tokens"], entry["reasoning_tokens"]) == (output, reasoning)
    assert entry["cost_breakdown"]["buckets"][-1] == {
        "bucket": "output", "tokens": output, "cost_micros": round(output * 0.6), "cost_nanos": output * 600,
        "usd_per_million": "0.6", "cost_usd": output * 600 / 1e9}


async def test_audio_tokens_without_an_audio_rate_are_unpriced_not_billed_as_text(aiohttp_client, tmp_path):
    usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 60},
             "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 40}}
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             openai_answer("gpt-4o-mini", usage)),
                          "/v1/chat/completions", chat_body())
    assert (entry["input_audio_tokens"], entry["output_audio_tokens"]) == (60, 40)
    assert entry["priced"] is False and entry["cost_usd"] is None


async def test_audio_tokens_are_billed_at_their_audio_rate(aiohttp_client, tmp_path):
    usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
             "prompt_tokens_details": {"audio_tokens": 60}, "completion_tokens_details": {"audio_tokens": 40}}
    prices = ('[pricing.models."my-audio-model"]\ninput = 2.5\noutput = 10\ninput_audio = 40\n'
              'output_audio = 80\n')
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             openai_answer("my-audio-model", usage)),
                          "/v1/chat/completions", chat_body(model="my-audio-model"), prices=prices)
    assert _buckets(entry) == {"input": (40, 100), "input_audio": (60, 2400), "output": (10, 100),
                               "output_audio": (40, 3200)}
    assert entry["cost_micros"] == 5800


def groq_sse() -> bytes:
    head = '{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1732000000,"model":"llama-3.3-70b-versatile",'
    events = [head + '"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}',
              head + '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":'
              '{"queue_time":0.01,"prompt_tokens":20,"prompt_time":0.002,"completion_tokens":3,'
              '"completion_time":0.004,"total_tokens":23,"total_time":0.006}}}',
              "[DONE]"]
    return b"".join(b"data: " + e.encode() + b"\n\n" for e in events)


async def test_groq_stream_usage_is_read_from_x_groq(aiohttp_client, tmp_path):
    entry = await _logged(aiohttp_client, tmp_path, fu.raw_sse(groq_sse()), "/v1/chat/completions",
                          chat_body(model="llama-3.3-70b-versatile", stream=True))
    assert (entry["usage_source"], entry["input_tokens"], entry["output_tokens"]) == ("provider", 20, 3)
