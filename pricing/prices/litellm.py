"""Read prices from LiteLLM's `model_prices_and_context_window.json` format.

LiteLLM states prices in USD per token; we keep USD per 1M tokens, so each price is multiplied
by 10^6 as a Decimal parsed straight from the JSON text (no float ever sees it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from llmlog.pricing.prices.rates import TIER_RATE_FIELDS, RateName, TierRates, to_decimal

PER_MILLION = Decimal(1_000_000)

# LiteLLM key -> our price key.
FIELD_MAP: dict[str, RateName] = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_token": "output",
    "input_cost_per_audio_token": "input_audio",
    "output_cost_per_audio_token": "output_audio",
    "cache_read_input_audio_token_cost": "cached_input_audio",
}

# Long-context variants, e.g. `input_cost_per_token_above_200k_tokens`.
_TIER_KEY = re.compile(r"^(?P<field>\w+?)_above_(?P<k>\d+)k_tokens$")

# Not a model: LiteLLM's file opens with a documented example entry.
SKIPPED_KEYS = frozenset({"sample_spec"})


def parse_litellm_fields(text: str | bytes, source: str) -> dict[str, dict[str, Any]]:
    """Model id -> only the fields the file states (USD per 1M tokens), for merging field by field
    onto an existing entry. A rate the file does not state is absent (never 0). Long-context
    rates are under `tiers`: {threshold in tokens: {rate: value}}, again only those stated.
    Entries with no per-token rate at all (images, per-request models) are left out."""
    out: dict[str, dict[str, Any]] = {}
    for model, raw in _rows(text, source):
        where = f"{source}: {model!r}"
        fields: dict[str, Any] = {
            ours: _per_million(raw[theirs], f"{where}.{theirs}")
            for theirs, ours in FIELD_MAP.items()
            if raw.get(theirs) is not None
        }
        if tiers := _tier_rates(raw, where):
            fields["tiers"] = tiers
        if fields:
            out[model] = fields
    return out


def _rows(text: str | bytes, source: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    data = json.loads(text, parse_float=Decimal)
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: expected a JSON object of models")
    for model, raw in data.items():
        if model in SKIPPED_KEYS or not isinstance(raw, Mapping):
            continue
        yield model, raw


def _per_million(value: Any, where: str) -> Decimal:
    exact = (to_decimal(value, where) * PER_MILLION).normalize()
    # normalize() turns 10 into 1E+1; keep whole numbers plain for people reading prices
    exponent = exact.as_tuple().exponent  # an int: to_decimal takes finite numbers only
    return exact.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else exact


def _tier_rates(raw: Mapping[str, Any], where: str) -> dict[int, TierRates]:
    """Long-context rates the entry states: {threshold in tokens: {our rate key: USD per 1M}}."""
    by_threshold: dict[int, TierRates] = {}
    for key, value in raw.items():
        m = _TIER_KEY.match(key)
        if m is None or value is None:
            continue
        ours = FIELD_MAP.get(m["field"])
        if ours in TIER_RATE_FIELDS:
            prices = by_threshold.setdefault(int(m["k"]) * 1000, {})
            prices[ours] = _per_million(value, f"{where}.{key}")
    return dict(sorted(by_threshold.items()))
