"""End to end: the official openai SDK through the proxy equals going direct,
and each call is logged with its model, status, timing, tokens and content."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import flushed


def sdk(base: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base.rstrip("/") + "/v1", api_key="sk-test-secret-123456", max_retries=0)


@pytest.fixture
async def pair(proxy, upstream):
    """(direct client, proxied client, proxy test client)."""
    direct = sdk(str(upstream.make_url("")))
    via = sdk(str(proxy.make_url("")))
    yield direct, via, proxy
    await direct.close()
    await via.close()


async def logged(proxy, call_id: str) -> dict:
    await flushed(proxy)
    resp = await proxy.get(f"/v1/logs/{call_id}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello proxy world"}]


async def test_chat_completion_same_result_and_logged(pair):
    direct, via, proxy = pair
    expected = await direct.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    raw = await via.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    got = raw.parse()
    assert got.model_dump() == expected.model_dump()
    entry = await logged(proxy, raw.headers["x-llmlog-id"])
    assert entry["model"] == "gpt-4o-mini"
    assert entry["response_model"] == "gpt-4o-mini-2024-07-18"
    assert entry["status"] == "success" and entry["status_code"] == 200
    assert entry["duration_ms"] > 0 and 0 < entry["ttfb_ms"] <= entry["duration_ms"]
    assert entry["input_tokens"] == expected.usage.prompt_tokens
    assert entry["output_tokens"] == expected.usage.completion_tokens
    assert entry["usage_source"] == "provider"
    assert entry["request"]["body"]["messages"] == MESSAGES
    assert entry["response"]["body"]["choices"][0]["message"]["content"] == "Echo: hello proxy world"
    assert entry["output"]["text"] == "Echo: hello proxy world"
    assert "hello proxy world" in entry["prompt"]["text"]
    assert entry["priced"] is True and entry["cost_usd"] > 0


async def test_streamed_chat_same_chunks_and_assembled_output(pair):
    direct, via, proxy = pair
    direct_stream = await direct.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    expected = [c.model_dump() async for c in direct_stream]
    raw = await via.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    got = [c.model_dump() async for c in raw.parse()]
    assert got == expected and len(got) > 3
    entry = await logged(proxy, raw.headers["x-llmlog-id"])
    assert entry["stream"] is True and entry["status"] == "success"
    assert entry["output"]["text"] == "Echo: hello proxy world"
    assert entry["events_count"] == len(expected) + 1  # the chunks plus [DONE]
    # no usage chunk was asked for, so tokens are tiktoken's count with the model's own encoding, marked as such
    assert entry["usage_source"] == "estimated" and entry["output_tokens"] > 0
    assert entry["token_encoding"] == "o200k_base"


async def test_streamed_chat_with_usage_reports_provider_tokens(pair):
    _, via, proxy = pair
    raw = await via.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in raw.parse()]
    usage = chunks[-1].usage
    entry = await logged(proxy, raw.headers["x-llmlog-id"])
    assert entry["usage_source"] == "provider"
    assert (entry["input_tokens"], entry["output_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)


async def test_embeddings_same_result_and_logged(pair):
    direct, via, proxy = pair
    expected = await direct.embeddings.create(model="text-embedding-3-small", input=["a b c", "d e"])
    raw = await via.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["a b c", "d e"])
    assert raw.parse().model_dump() == expected.model_dump()
    entry = await logged(proxy, raw.headers["x-llmlog-id"])
    assert entry["model"] == "text-embedding-3-small" and entry["status"] == "success"
    assert entry["input_tokens"] == expected.usage.prompt_tokens == 5
    assert entry["output_tokens"] == 0


async def test_upstream_400_raises_same_sdk_error_and_is_logged(pair):
    direct, via, proxy = pair
    with pytest.raises(openai.BadRequestError) as direct_err:
        await direct.chat.completions.create(model="bad-model", messages=MESSAGES)
    with pytest.raises(openai.BadRequestError) as via_err:
        await via.chat.completions.create(model="bad-model", messages=MESSAGES)
    assert via_err.value.message == direct_err.value.message
    assert via_err.value.body == direct_err.value.body
    call_id = via_err.value.response.headers["x-llmlog-id"]
    entry = await logged(proxy, call_id)
    assert entry["status"] == "error" and entry["status_code"] == 400
    assert "does not exist" in entry["error"]
    assert entry["usage_source"] == "none"
