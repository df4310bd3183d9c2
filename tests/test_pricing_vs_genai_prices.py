"""Cross-check the shipped table against the genai-prices package.

Every model id (and alias, and a few dated / fine-tuned probes) that both lists know is compared
on input, cached input, cache write, output and the long-context tier. A difference must be fixed
in our data or named in the entry's `explained` list with a `note` saying why and citing a source.
Models genai-prices prices conditionally (by date or time of day) or with several tiers are
skipped: there is no single price to compare.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from pricing.prices import ModelPrice
from pricing.table import PriceTable

genai_prices = pytest.importorskip("genai_prices")
from genai_prices import data_snapshot  # noqa: E402
from genai_prices import types as gp  # noqa: E402

# our field -> genai-prices ModelPrice attribute (USD per 1M tokens on both sides)
FIELDS = {
    "input": "input_mtok",
    "cached_input": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "output": "output_mtok",
}

# Ids clients really send that reach an entry by a rule other than exact.
PROBES = [
    ("gpt-4o-2024-08-06", "openai"),
    ("gpt-4o-2024-11-20", "openai"),
    ("gpt-4o-mini-2024-07-18", "openai"),
    ("gpt-4.1-2025-04-14", "openai"),
    ("gpt-5-2025-08-07", "openai"),
    ("o3-mini-2025-01-31", "openai"),
    ("o4-mini-2025-04-16", "openai"),
    ("gpt-3.5-turbo-0125", "openai"),
    ("ft:gpt-4o-mini-2024-07-18:org::abc", "openai"),
    ("ft:gpt-4o-2024-08-06:org::abc", "openai"),
    ("claude-3-5-sonnet-20241022", "anthropic"),
    ("claude-3-5-haiku-20241022", "anthropic"),
    ("claude-3-7-sonnet-20250219", "anthropic"),
    ("claude-3-haiku-20240307", "anthropic"),
    ("claude-3-opus-20240229", "anthropic"),
    ("claude-sonnet-4-20250514", "anthropic"),
    ("claude-opus-4-20250514", "anthropic"),
    ("claude-opus-4-1-20250805", "anthropic"),
    ("claude-sonnet-4-5-20250929", "anthropic"),
    ("claude-haiku-4-5-20251001", "anthropic"),
    ("claude-opus-4-5-20251101", "anthropic"),
    ("gemini-1.5-pro-002", "google"),
    ("gemini-1.5-flash-002", "google"),
    ("gemini-2.0-flash-001", "google"),
    ("mistral-large-2411", "mistral"),
    ("mistral-medium-2508", "mistral"),
    ("mistral-small-2506", "mistral"),
    ("codestral-2501", "mistral"),
]


def _refs(table: PriceTable) -> list[tuple[str, str]]:
    refs = []
    for price in table:
        for ref in (price.model, *price.aliases):
            provider = price.provider or ""
            if ref.lower().startswith(provider + "/"):
                ref = ref[len(provider) + 1 :]  # genai-prices takes the host as provider_id
            refs.append((ref, provider))
    return sorted(set(refs) | set(PROBES))


def _genai_model(ref: str, provider: str) -> gp.ModelInfo | None:
    snapshot = data_snapshot.get_snapshot()
    try:
        return snapshot.find_provider_model(ref, None, provider, None)[1]
    except LookupError:
        pass
    # genai-prices lower-cases refs but matches some mixed-case ids (Together) with `equals`
    for p in snapshot.providers:
        if p.id == provider:
            return next((m for m in p.models if m.id.lower() == ref.lower()), None)
    return None


def _effective(price: ModelPrice, field: str) -> Decimal:
    value = getattr(price, field)
    return price.input if value is None else value  # same fallback as compute_cost


def differences(price: ModelPrice, theirs: gp.ModelPrice) -> dict[str, tuple[object, object]] | None:
    """field -> (ours, theirs) for each difference, or None when not comparable."""
    base: dict[str, Decimal] = {}
    tier_theirs: dict[str, tuple[int, Decimal]] = {}
    for field, attr in FIELDS.items():
        value = getattr(theirs, attr)
        if isinstance(value, gp.TieredPrices):
            if len(value.tiers) != 1:
                return None
            tier_theirs[field] = (value.tiers[0].start, value.tiers[0].price)
            value = value.base
        base[field] = value
    if base["input"] is None:
        return None  # priced in other units (characters, audio seconds)
    if base["output"] is None:
        base["output"] = Decimal(0)  # input-only models (embeddings)
    for field in ("cached_input", "cache_write"):  # genai-prices also bills a missing rate as input
        if base[field] is None:
            base[field] = base["input"]

    diffs: dict[str, tuple[object, object]] = {}
    for field in FIELDS:
        if _effective(price, field) != base[field]:
            diffs[field] = (_effective(price, field), base[field])

    ours_tier = None
    if price.tier is not None:
        t = price.tier
        ours_tier = {
            "input": (t.above_input_tokens, t.input),
            "output": (t.above_input_tokens, t.output),
        }
        if t.cached_input is not None:
            ours_tier["cached_input"] = (t.above_input_tokens, t.cached_input)
        if t.cache_write is not None:
            ours_tier["cache_write"] = (t.above_input_tokens, t.cache_write)
    theirs_tier = tier_theirs or None
    if ours_tier is not None and theirs_tier is not None:
        # compare only the fields both tier; a one-sided tiered field is a tier difference
        if any(ours_tier.get(f) != theirs_tier.get(f) for f in set(ours_tier) | set(theirs_tier)):
            diffs["tier"] = (ours_tier, theirs_tier)
    elif ours_tier != theirs_tier:
        diffs["tier"] = (ours_tier, theirs_tier)
    return diffs


def _comparisons():
    table = PriceTable.shipped()
    for ref, provider in _refs(table):
        match = table.lookup(ref, provider)
        model = _genai_model(ref, provider)
        if match is None or model is None or not isinstance(model.prices, gp.ModelPrice):
            continue  # unknown to one side, or a conditional (dated / time-of-day) price
        diffs = differences(match.price, model.prices)
        if diffs is not None:
            yield ref, provider, match.price, model.id, diffs


COMPARISONS = list(_comparisons())


def test_many_models_are_compared():
    # guard against the comparison silently comparing nothing after a genai-prices upgrade
    assert len(COMPARISONS) >= 60


@pytest.mark.parametrize(
    ("ref", "provider", "price", "genai_id", "diffs"),
    COMPARISONS,
    ids=[f"{p}:{r}" for r, p, *_ in COMPARISONS],
)
def test_matches_genai_prices_or_is_explained(ref, provider, price, genai_id, diffs):
    unexplained = {f: v for f, v in diffs.items() if f not in price.explained}
    assert not unexplained, (
        f"{ref!r} ({price.model}) differs from genai-prices {genai_id!r} on {unexplained} (ours, theirs): "
        f"fix pricing/data or add the field to `explained` with a `note` and source"
    )
    if diffs:
        assert price.note and price.source


def test_explanations_are_not_stale():
    """Every `explained` field still differs for at least one compared id of that entry."""
    seen: dict[str, set[str]] = defaultdict(set)
    compared: set[str] = set()
    for _, _, price, _, diffs in COMPARISONS:
        compared.add(price.model)
        seen[price.model] |= set(diffs)
    for price in PriceTable.shipped():
        if price.explained and price.model in compared:
            assert price.explained <= seen[price.model], (
                f"{price.model}: {sorted(price.explained - seen[price.model])} no longer differ from genai-prices"
            )


def test_comparator_detects_differences():
    theirs = gp.ModelPrice(input_mtok=Decimal("2.5"), cache_read_mtok=Decimal("1.25"), output_mtok=Decimal("10"))
    same = ModelPrice(model="x", input=Decimal("2.50"), cached_input=Decimal("1.25"), output=Decimal("10"))
    assert differences(same, theirs) == {}
    other = ModelPrice(model="x", input=Decimal("2.5"), output=Decimal("11"))
    assert set(differences(other, theirs)) == {"cached_input", "output"}
