"""Cost in micro-dollars on disjoint buckets, hand-computed from published prices."""

from __future__ import annotations

import pytest

from llmlog.pricing.prices.cost import compute_cost
from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.types import UNPRICED, Cost, Usage


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.shipped()


# (model, usage, (input, cached read, cache write, output) in micro-dollars)
# A price in USD per 1M tokens is micro-dollars per token: micros = tokens x price.
CASES = [
    pytest.param(
        # 800 x 0.15 + 200 x 0.075 + 500 x 0.60 = 120 + 15 + 300 = 435
        "gpt-4o-mini", Usage(input_tokens=1000, cached_input_tokens=200, output_tokens=500),
        (120, 15, 0, 300), id="openai-cached",
    ),
    pytest.param(
        # input_tokens counts all 3000 prompt tokens: 1500 plain x 3 + 1000 read x 0.30
        # + 500 written x 3.75 (5-minute cache write) ; output 200 x 15
        "claude-sonnet-4-5-20250929",
        Usage(input_tokens=3000, cached_input_tokens=1000, cache_write_tokens=500, output_tokens=200),
        (4500, 300, 1875, 3000), id="anthropic-cache-read-and-write",
    ),
    pytest.param(
        # reasoning tokens are inside output_tokens: 1500 x 4.40, not (1500 + 1200) x 4.40
        "o3-mini-2025-01-31", Usage(input_tokens=2000, output_tokens=1500, reasoning_tokens=1200),
        (2200, 0, 0, 6600), id="o-series-reasoning",
    ),
    pytest.param(
        # 250k prompt > 200k: the whole call at the long-context tier
        # 200000 x 2.50 + 50000 x 0.25 ; 1000 x 15
        "gemini-2.5-pro", Usage(input_tokens=250_000, cached_input_tokens=50_000, output_tokens=1000),
        (500_000, 12_500, 0, 15_000), id="gemini-long-context-tier",
    ),
    pytest.param(
        # exactly at the threshold is not above it: base prices 200000 x 1.25 ; 100 x 10
        "gemini-2.5-pro", Usage(input_tokens=200_000, output_tokens=100),
        (250_000, 0, 0, 1000), id="gemini-at-threshold-base-tier",
    ),
    pytest.param(
        # Sonnet 1M context: 200000 x 6 + 100000 x 0.60 ; 2000 x 22.50
        "claude-sonnet-4-5", Usage(input_tokens=300_000, cached_input_tokens=100_000, output_tokens=2000),
        (1_200_000, 60_000, 0, 45_000), id="anthropic-long-context-tier",
    ),
    pytest.param(
        # Gemini 1.5 tier starts above 128k: 130000 x 0.15 ; 10 x 0.60 = 6
        "gemini-1.5-flash-002", Usage(input_tokens=130_000, output_tokens=10),
        (19_500, 0, 0, 6), id="gemini-1.5-tier-128k",
    ),
    pytest.param(
        # no cached price listed: cached tokens billed at input: 600 x 5 + 400 x 5 ; 100 x 15
        "gpt-4o-2024-05-13", Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=100),
        (3000, 2000, 0, 1500), id="missing-cached-price-falls-back-to-input",
    ),
    pytest.param(
        # OpenAI lists no cache write: 10 written tokens billed at input 2.50
        "gpt-4o", Usage(input_tokens=10, cache_write_tokens=10),
        (0, 0, 25, 0), id="missing-cache-write-price-falls-back-to-input",
    ),
    pytest.param(
        # rounding half-up per bucket: 10 x 0.15 = 1.5 -> 2 ; 3 x 0.60 = 1.8 -> 2 ; 1 x 0.075 -> 0
        "gpt-4o-mini", Usage(input_tokens=11, cached_input_tokens=1, output_tokens=3),
        (2, 0, 0, 2), id="round-half-up-per-bucket",
    ),
    pytest.param(
        # 25 x 0.02 = 0.5 -> 1 ; embeddings have no output
        "text-embedding-3-small", Usage(input_tokens=25),
        (1, 0, 0, 0), id="embedding-half-micro-rounds-up",
    ),
    pytest.param(
        # fine-tune price: 1000 x 0.30 + 1000 x 0.15 ; 100 x 1.20
        "ft:gpt-4o-mini-2024-07-18:org::abc", Usage(input_tokens=2000, cached_input_tokens=1000, output_tokens=100),
        (300, 150, 0, 120), id="fine-tune",
    ),
    pytest.param(
        # DeepSeek cache hit vs miss: 9000 x 0.28 + 1000 x 0.028 ; 500 x 0.42
        "deepseek-chat", Usage(input_tokens=10_000, cached_input_tokens=1000, output_tokens=500),
        (2520, 28, 0, 210), id="deepseek-cache-hit",
    ),
]


@pytest.mark.parametrize(("model", "usage", "micros"), CASES)
def test_cost_buckets(table, model, usage, micros):
    cost = compute_cost(usage, table.lookup(model), table.version)
    assert cost.priced
    assert (cost.input_micros, cost.cached_input_micros, cost.cache_write_micros, cost.output_micros) == micros
    assert cost.total_micros == sum(micros)
    assert cost.pricing_version == table.version


def test_headline_gpt_4o_mini_example(table):
    usage = Usage(input_tokens=1000, cached_input_tokens=200, output_tokens=500)
    assert compute_cost(usage, table.lookup("gpt-4o-mini"), table.version).total_micros == 435


def test_no_price_is_unpriced_not_zero(table):
    cost = compute_cost(Usage(input_tokens=100, output_tokens=10), table.lookup("my-local-model"), table.version)
    assert cost == UNPRICED
    assert cost.priced is False and cost.total_micros is None


def test_estimated_usage_is_priced_the_same(table):
    match = table.lookup("gpt-4o")
    provider = compute_cost(Usage(input_tokens=100, output_tokens=10), match, "v")
    estimated = compute_cost(Usage(input_tokens=100, output_tokens=10, source="estimated"), match, "v")
    assert provider == estimated == Cost(priced=True, input_micros=250, output_micros=100, pricing_version="v")


def test_cached_tokens_beyond_input_never_make_negative_input(table):
    # defensive: a provider reporting more cached than prompt tokens
    cost = compute_cost(Usage(input_tokens=100, cached_input_tokens=150), table.lookup("gpt-4o-mini"), "v")
    assert cost.input_micros == 0 and cost.cached_input_micros == 11  # 150 x 0.075 = 11.25


def test_override_without_cache_prices_bills_cache_at_input(table):
    t = table.with_overrides({"local": {"input": 1, "output": 2}})
    usage = Usage(input_tokens=100, cached_input_tokens=30, cache_write_tokens=20, output_tokens=5)
    cost = compute_cost(usage, t.lookup("local"), t.version)
    micros = (cost.input_micros, cost.cached_input_micros, cost.cache_write_micros, cost.output_micros)
    assert micros == (50, 30, 20, 10)


def test_big_call_stays_exact(table):
    # 10^9 tokens at $0.075 per 1M: exactly 75,000,000 micro-dollars ($75), no float drift
    cost = compute_cost(Usage(input_tokens=10**9, cached_input_tokens=10**9), table.lookup("gpt-4o-mini"), "v")
    assert cost.cached_input_micros == 75_000_000
