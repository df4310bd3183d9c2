"""OpenAI's `service_tier` (issue 15): a call served at flex or priority is billed at that tier's
rates (genai-prices' price variants), through the running proxy, in chat and Responses, JSON and
stream; a tier the model has no price for is billed at standard and the entry says so.

Rates (USD per 1M tokens) from https://platform.openai.com/docs/pricing (Flex and Priority tables),
as genai-prices carries them: gpt-5 flex 0.625 in / 5 out (half of standard 1.25 / 10);
o3 priority 3.5 in / 14 out (standard 2 / 8); gpt-5-nano has a flex price only."""

from __future__ import annotations

import orjson
import pytest

from llmlog.pricing.prices.cost import compute_cost
from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.types import Usage
from tests.conftest import chat_body
from tests.fakes import faulty_upstream as fu
from tests.pricing.test_usage_buckets import _buckets, _logged

USAGE = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}


def chat_answer(model: str, tier: str | None) -> bytes:
    return orjson.dumps({"id": "chatcmpl-t", "object": "chat.completion", "created": 1732000000, "model": model,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                      "finish_reason": "stop"}], "usage": USAGE,
                         **({"service_tier": tier} if tier else {})})


def chat_sse(model: str, tier: str) -> bytes:
    head = {"id": "chatcmpl-t", "object": "chat.completion.chunk", "created": 1732000000, "model": model,
            "service_tier": tier}
    events = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"},
                                    "finish_reason": None}]},
              {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
              {**head, "choices": [], "usage": USAGE}]
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def responses_answer(model: str, tier: str) -> bytes:
    return orjson.dumps({"id": "resp_1", "object": "response", "created_at": 1732000000, "model": model,
                         "status": "completed", "service_tier": tier,
                         "output": [{"type": "message", "role": "assistant",
                                     "content": [{"type": "output_text", "text": "ok"}]}],
                         "usage": {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100,
                                   "input_tokens_details": {"cached_tokens": 0},
                                   "output_tokens_details": {"reasoning_tokens": 0}}})


@pytest.mark.parametrize("stream", [False, True])
async def test_flex_is_billed_at_the_flex_rates(aiohttp_client, tmp_path, stream):
    answer = fu.raw_sse(chat_sse("gpt-5-2025-08-07", "flex")) if stream else fu.fixed(
        200, "OK", "application/json", chat_answer("gpt-5-2025-08-07", "flex"))
    entry = await _logged(aiohttp_client, tmp_path, answer, "/v1/chat/completions",
                          chat_body(model="gpt-5", stream=stream))
    assert (entry["service_tier"], entry["service_tier_priced"]) == ("flex", True)
    assert _buckets(entry) == {"input": (1000, 625), "output": (100, 500)}


async def test_priority_on_the_responses_api(aiohttp_client, tmp_path):
    body = orjson.dumps({"model": "o3", "input": "hi", "service_tier": "priority"})
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             responses_answer("o3-2025-04-16", "priority")),
                          "/v1/responses", body)
    assert (entry["service_tier"], entry["service_tier_priced"]) == ("priority", True)
    assert _buckets(entry) == {"input": (1000, 3500), "output": (100, 1400)}


async def test_a_tier_without_its_own_price_is_billed_at_standard_and_says_so(aiohttp_client, tmp_path):
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             chat_answer("gpt-5-nano", "priority")),
                          "/v1/chat/completions", chat_body(model="gpt-5-nano"))
    assert (entry["service_tier"], entry["service_tier_priced"]) == ("priority", False)
    assert _buckets(entry) == {"input": (1000, 50), "output": (100, 40)}  # standard 0.05 / 0.40


@pytest.mark.parametrize("tier", ["default", None])
async def test_the_default_tier_is_the_standard_price(aiohttp_client, tmp_path, tier):
    entry = await _logged(aiohttp_client, tmp_path, fu.fixed(200, "OK", "application/json",
                                                             chat_answer("gpt-5", tier)),
                          "/v1/chat/completions", chat_body(model="gpt-5"))
    assert (entry["service_tier"], entry["service_tier_priced"]) == (tier, None)
    assert _buckets(entry) == {"input": (1000, 1250), "output": (100, 1000)}


def test_the_tiers_come_from_genai_prices():
    table = PriceTable.shipped()
    gpt5 = table.lookup("gpt-5").price
    assert {t for t, _ in gpt5.service_tiers} >= {"flex", "priority"}
    flex = gpt5.for_service_tier("FLEX")
    assert (flex.input, flex.cached_input, flex.output) == (gpt5.input / 2, gpt5.cached_input / 2, gpt5.output / 2)
    # an override replaces the whole entry: its tiers go with it, so flex is billed at the override
    overridden = table.with_overrides({"gpt-5": {"input": 1, "output": 2}}).lookup("gpt-5")
    cost = compute_cost(Usage(input_tokens=1_000_000, service_tier="flex"), overridden, "v")
    assert (cost.total_micros, cost.service_tier_priced) == (1_000_000, False)
