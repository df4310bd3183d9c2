"""Sanity of the shipped price data: provenance, signs, cache discounts, ids."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from llmlog.pricing.prices.rates import RATE_FIELDS
from llmlog.pricing.prices.table import PROVIDER_PREFIXES, PriceTable

TABLE = PriceTable.shipped()
PRICES = sorted(TABLE, key=lambda p: (p.provider or "", p.model))
CORRECTIONS = [p for p in PRICES if p.origin == "correction"]


@pytest.mark.parametrize("price", PRICES, ids=[f"{p.provider}/{p.model}" for p in PRICES])
def test_entry_is_sane(price):
    assert price.origin in {"genai-prices", "correction"}
    values = [getattr(price, f) for f in RATE_FIELDS]
    assert all(v is None or (isinstance(v, Decimal) and v >= 0) for v in values)
    if price.tier is not None:
        assert price.tier.above_input_tokens > 0
        for upper in price.upper_tiers:
            assert upper.above_input_tokens > price.tier.above_input_tokens
    # every rate says which layer it came from
    for field in RATE_FIELDS:
        if getattr(price, field) is not None:
            assert price.layer_of(field).startswith(("genai-prices ", "correction (")), field


def test_corrections_are_few_and_each_names_its_source():
    assert 5 <= len(CORRECTIONS) <= 40, "corrections hold only what genai-prices lacks or gets wrong"
    for price in CORRECTIONS:
        assert price.source and price.source.startswith("https://"), price.model
        assert price.note, f"{price.model}: a correction says why it exists"
        if price.date is not None:  # the day it was compared with its source, when someone did
            assert dt.date.fromisoformat(price.date) <= dt.date.today()


@pytest.mark.parametrize("price", [p for p in CORRECTIONS if p.provider == "anthropic"], ids=lambda p: p.model)
def test_anthropic_cache_multipliers(price):
    # 5-minute cache write = 1.25 x input, cache hit = 0.1 x input, in each tier
    for tier in (price, price.tier):
        assert (tier.cache_write, tier.cached_input) == (tier.input * Decimal("1.25"), tier.input * Decimal("0.1"))


def test_provider_prefixes_are_lowercase_names():
    assert all(p == p.lower() and "/" not in p for p in PROVIDER_PREFIXES)


def test_deprecated_models_are_marked():
    assert any(p.deprecated for p in PRICES) and not all(p.deprecated for p in PRICES)


def test_table_construction_is_fast():
    import time

    start = time.perf_counter()
    PriceTable.shipped()
    assert time.perf_counter() - start < 1.0


# What the table must cover; each id as a client sends it.
REQUIRED = [
    "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
    "gpt-4o", "gpt-4o-mini", "gpt-4o-2024-05-13", "gpt-4o-2024-08-06", "o1", "o1-mini", "o3",
    "o3-mini", "o4-mini", "gpt-3.5-turbo", "gpt-4-turbo", "text-embedding-3-small",
    "text-embedding-3-large", "text-embedding-ada-002",
    "claude-opus-4-20250514", "claude-opus-4-1-20250805", "claude-opus-4-5-20251101",
    "claude-sonnet-4-20250514", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001",
    "claude-3-7-sonnet-20250219", "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022",
    "claude-3-haiku-20240307", "claude-3-opus-20240229",
    "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash",
    "gemini-2.0-flash-lite", "gemini-1.5-pro", "gemini-1.5-flash",
    "mistral-large-latest", "mistral-medium-latest", "mistral-small-latest", "codestral-latest",
    "deepseek-chat", "deepseek-reasoner",
    "groq/llama-3.3-70b-versatile", "groq/llama-3.1-8b-instant",
    "together/meta-llama/Llama-3.3-70B-Instruct-Turbo", "together/Qwen/Qwen2.5-72B-Instruct-Turbo",
]


@pytest.mark.parametrize("model", REQUIRED)
def test_required_models_are_priced(model):
    assert TABLE.lookup(model) is not None


@pytest.mark.parametrize(
    ("model", "threshold"),
    [("gemini-2.5-pro", 200_000), ("gemini-1.5-pro", 128_000), ("gemini-1.5-flash", 128_000),
     ("claude-sonnet-4", 200_000), ("claude-sonnet-4-5", 200_000)],
)
def test_long_context_tiers_present(model, threshold):
    assert TABLE.lookup(model).price.tier.above_input_tokens == threshold
