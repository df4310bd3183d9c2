"""Sanity of the shipped price data: provenance, signs, cache discounts, ids."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from pricing.prices import PRICE_KEYS
from pricing.table import PROVIDER_PREFIXES, PriceTable

TABLE = PriceTable.shipped()
PRICES = sorted(TABLE, key=lambda p: p.model)


@pytest.mark.parametrize("price", PRICES, ids=[p.model for p in PRICES])
def test_entry_is_sane(price):
    assert price.origin == "shipped"
    assert price.source and price.source.startswith("https://"), "every price names its public source"
    assert dt.date.fromisoformat(price.date), "every price says when it was checked (YYYY-MM-DD)"
    values = [price.input, price.output, price.cached_input, price.cache_write]
    assert all(v is None or (isinstance(v, Decimal) and v >= 0) for v in values)
    if price.cached_input is not None:
        assert price.cached_input <= price.input, "a cache hit never costs more than plain input"
    if price.tier is not None:
        t = price.tier
        assert t.above_input_tokens > 0
        assert t.input >= price.input and t.output >= price.output
        if t.cached_input is not None:
            assert t.cached_input <= t.input
    assert price.explained <= PRICE_KEYS | {"tier"}
    if price.explained:
        assert price.note, "an explained difference says why"


# Anthropic publishes Claude 3 Haiku's cache prices rounded ($0.30 / $0.03, not $0.3125 / $0.025);
# we bill the published figures.
ANTHROPIC_ROUNDED = {"claude-3-haiku": (Decimal("0.30"), Decimal("0.03"))}


@pytest.mark.parametrize("price", [p for p in PRICES if p.provider == "anthropic"], ids=lambda p: p.model)
def test_anthropic_cache_multipliers(price):
    # 5-minute cache write = 1.25 x input, cache hit = 0.1 x input
    expected = ANTHROPIC_ROUNDED.get(price.model, (price.input * Decimal("1.25"), price.input * Decimal("0.1")))
    assert (price.cache_write, price.cached_input) == expected


def test_ids_and_aliases_are_unique():
    names = Counter(n.lower() for p in PRICES for n in (p.model, *p.aliases))
    assert [n for n, c in names.items() if c > 1] == []


def test_provider_qualified_ids_use_known_prefixes():
    qualifiers = {p.model.split("/", 1)[0] for p in PRICES if "/" in p.model}
    assert qualifiers and qualifiers <= PROVIDER_PREFIXES


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
