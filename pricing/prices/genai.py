"""The base price layer: genai-prices' provider data read once into llmlog's own entries.

genai-prices ships its data as Python objects inside its wheel (`genai_prices.data.providers`),
so this works offline. Each (provider, model) with a per-token price becomes one ModelPrice; its
`equals` ids become exact keys, its other match clauses rules (pricing/prices/match.py) tried after
them. Time-conditional prices are resolved for one given day (the one in force that day); a
time-of-day price (DeepSeek's old off-peak discount) is not modelled: its standard price is
taken and the entry's note says so. Pure: the caller passes the providers and the day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from copy import copy
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from llmlog.pricing.prices.match import Rule, equals_ids, fine_tune_rule, matches, translate, without_equals
from llmlog.pricing.prices.rates import (
    STANDARD_SERVICE_TIERS,
    TIER_RATE_FIELDS,
    ModelPrice,
    PriceTier,
    RateFields,
    RateName,
)

# genai-prices price key -> our field (USD per 1M tokens on both sides). Keys not listed here
# (per-request, per-image, per-second, web search…) are not billed by llmlog.
FIELD_MAP: dict[str, RateName] = {
    "input_mtok": "input",
    "cache_read_mtok": "cached_input",
    "cache_write_mtok": "cache_write",
    "cache_write_5m_mtok": "cache_write",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_mtok": "output",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
    "cache_audio_read_mtok": "cached_input_audio",
}

# Providers whose own models may be named bare (`gpt-4o`, `claude-…`, `gemini-…`), in priority
# order. Every other provider (hosts of open models, gateways, clouds) is only ever reached
# provider-qualified (`groq/llama-…`, `aws/…`), since one open model costs different amounts on
# different hosts.
FIRST_PARTY = (
    "openai", "anthropic", "google", "mistral", "deepseek", "x-ai", "cohere", "moonshotai", "zai",
    "minimax", "perplexity", "voyageai",
)

_URL = re.compile(r"https?://[^\s,;)\"']+")


@dataclass
class BaseData:
    """What the table needs from genai-prices: entries, exact keys, rules, provider facts."""

    entries: dict[str, ModelPrice] = field(default_factory=dict)  # "provider/model id" -> price
    index: dict[str, str] = field(default_factory=dict)  # lower-case name -> entry key
    rules: dict[str, tuple[tuple[Rule, str], ...]] = field(default_factory=dict)
    ft_rules: dict[str, tuple[tuple[Rule, str], ...]] = field(default_factory=dict)
    owners: tuple[tuple[str, Rule], ...] = ()  # first-party provider, the ids it claims
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    provider_names: dict[str, str] = field(default_factory=dict)  # alias -> provider id
    version: str = "genai-prices"


def shipped_providers() -> list[Any]:
    """The provider list inside the installed genai-prices wheel."""
    from genai_prices.data import providers

    return providers


def providers_from_json(data: bytes | str) -> list[Any]:
    """genai-prices' published `data.json` (a provider array) as the package's own objects."""
    from genai_prices.types import _providers_from_raw  # the package's own reader of that file

    raw = json.loads(data)
    if not isinstance(raw, list):
        raise ValueError("expected a JSON array of providers")
    return _providers_from_raw(raw)


def package_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def build(providers: Iterable[Any], today: dt.date, label: str) -> BaseData:
    """Read `providers` into BaseData, with the time-conditional prices in force on `today`.

    `label` names the layer on each rate (e.g. "genai-prices 0.2.3")."""
    providers = list(providers)
    data = BaseData()
    digest = hashlib.sha256(label.encode())
    owners = []
    for p in providers:
        if p.id in FIRST_PARTY and p.model_match is not None:
            owners.append((p.id, translate(p.model_match)))
    owners.sort(key=lambda o: FIRST_PARTY.index(o[0]))
    data.owners = tuple(owners)
    for p in providers:
        data.provider_names[p.id] = p.id
        if p.fallback_model_providers:
            data.fallbacks[p.id] = tuple(p.fallback_model_providers)
        rules, ft_rules = [], []
        for m in p.models:
            chosen, note = _prices_in_force(m.prices, today)
            price = _entry(p, m, chosen, note, label, today)
            if price is None:
                continue  # not priced per token (characters, seconds, images, requests)
            # every rate and match rule read: the version changes whenever the data does
            digest.update(f"{p.id}/{m.id}:{price!r}:{m.match!r}".encode())
            key = f"{p.id}/{m.id}".lower()
            data.entries[key] = price
            rule = translate(m.match)
            names = [m.id.lower(), *(n.lower() for n in equals_ids(rule))]
            for name in names:
                data.index.setdefault(f"{p.id}/{name}", key)
                if p.id in FIRST_PARTY and _bare_allowed(name, p.id, data.owners):
                    data.index.setdefault(name, key)
            if (rest := without_equals(rule)) is not None:
                rules.append((rest, key))
            if (ft := fine_tune_rule(rule)) is not None:
                ft_rules.append((ft, key))
        data.rules[p.id] = tuple(rules)
        data.ft_rules[p.id] = tuple(ft_rules)
    data.version = f"{label.replace(' ', '-')}+{digest.hexdigest()[:8]}"
    return data


def _bare_allowed(name: str, provider: str, owners: tuple[tuple[str, Rule], ...]) -> bool:
    """A bare id belongs to a first-party provider unless another one's own naming claims it
    (Google lists Claude on Vertex; Anthropic, whose names contain `claude`, owns those)."""
    for owner, rule in owners:
        if matches(rule, name):
            return owner == provider
    return True


def _prices_in_force(prices: Any, today: dt.date) -> tuple[int, str | None]:
    """Index of the price set in force on `today` (-1: a single, unconditional set) and a note.

    Date-conditional sets: the last one started by `today` (genai-prices' own precedence). A
    time-of-day set (DeepSeek's former off-peak hours) cannot be one price: the set in force for
    the longer part of the day is taken, and the note says so."""
    if not isinstance(prices, list) or not prices:
        return -1, None
    for i in range(len(prices) - 1, -1, -1):
        constraint = prices[i].constraint
        if constraint is None:
            return i, None
        if hasattr(constraint, "start_date"):
            if constraint.start_date <= today:
                return i, f"price in force since {constraint.start_date.isoformat()}"
            continue
        start, end = (_minutes(constraint.start_time), _minutes(constraint.end_time))
        span = (end - start) % (24 * 60)
        if span >= 12 * 60:
            return i, ("genai-prices prices this model by time of day; the price of the longer "
                       f"part of the day ({constraint.start_time:%H:%M}-{constraint.end_time:%H:%M} UTC) is used")
    return 0, ("genai-prices prices this model by time of day; the price outside its shorter "
               "window is used") if any(not hasattr(c.constraint, "start_date") and c.constraint
                                        for c in prices) else None


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _rates_of(prices: Any) -> tuple[RateFields, PriceTier | None, tuple[PriceTier, ...]]:
    """Our rates and long-context tiers from one genai-prices ModelPrice."""
    base: RateFields = {}
    tiers: dict[str, Any] = {}
    for theirs, ours in FIELD_MAP.items():
        value = getattr(prices, theirs, None)
        if value is None or ours in base:
            continue
        if hasattr(value, "tiers"):
            tiers[ours] = value
            value = value.base
        base[ours] = value
    lower, upper = _tiers(base, tiers) if base.get("input") is not None else (None, ())
    return base, lower, upper


def _service_tiers(model: Any, standard: Any, today: dt.date, price: ModelPrice) -> tuple[tuple[str, ModelPrice], ...]:
    """The model's prices per OpenAI-style `service_tier` (flex, priority…), from genai-prices'
    price variants whose only condition is the tier, in force on `today`: each variant overrides
    the standard rates it states, the first variant stating a rate winning (genai-prices' rule)."""
    overrides: dict[str, dict[str, Any]] = {}
    for variant in getattr(model, "price_variants", None) or ():
        if set(variant.when) != {"service_tier"}:
            continue
        constraint = variant.constraint
        if constraint is not None and not (hasattr(constraint, "start_date") and constraint.start_date <= today):
            continue
        into = overrides.setdefault(variant.when["service_tier"].lower(), {})
        for key, value in vars(variant.prices).items():
            if value is not None and not key.startswith("_"):
                into.setdefault(key, value)
    out = []
    for name, changed in overrides.items():
        if name in STANDARD_SERVICE_TIERS or not changed:
            continue
        merged = copy(standard)
        vars(merged).update(changed)
        base, lower, upper = _rates_of(merged)
        if base.get("input") is None:
            continue
        base.setdefault("output", Decimal(0))
        out.append((name, replace(price, tier=lower, upper_tiers=upper, service_tiers=(), **base)))
    return tuple(sorted(out))


def _entry(provider: Any, model: Any, chosen: int, note: str | None, label: str,
           today: dt.date | None = None) -> ModelPrice | None:
    prices = model.prices if chosen < 0 else model.prices[chosen].prices
    base, lower, upper = _rates_of(prices)
    if base.get("input") is None:
        return None
    base.setdefault("output", Decimal(0))  # input-only models (embeddings)
    comments = model.price_comments or ""
    urls = _URL.findall(comments)
    source = urls[0] if urls else (provider.pricing_urls[0] if provider.pricing_urls else None)
    notes = [n for n in (note, comments.strip() or None) if n]
    layers = tuple((k, label) for k in (*base, *(("tier",) if lower else ())))
    price = ModelPrice(
        model=model.id,
        provider=provider.id,
        source=source,
        note=" / ".join(notes) or None,
        tier=lower,
        upper_tiers=upper,
        deprecated=bool(model.deprecated),
        origin="genai-prices",
        layers=layers,
        **base,
    )
    if today is not None and getattr(model, "price_variants", None):
        price = replace(price, service_tiers=_service_tiers(model, prices, today, price))
    return price


def _tiers(base: RateFields, tiered: Mapping[str, Any]) -> tuple[PriceTier | None, tuple[PriceTier, ...]]:
    """Our whole-call tiers from genai-prices' per-field tiers: one PriceTier per threshold, each
    field at the price that applies above it (its base price where that field is not tiered)."""
    starts = sorted({t.start for value in tiered.values() for t in value.tiers})
    out = []
    for start in starts:
        at: dict[str, Decimal | None] = {}
        for f in TIER_RATE_FIELDS:
            value = base.get(f)
            if f in tiered:
                for t in tiered[f].tiers:  # sorted ascending by genai-prices
                    if t.start <= start:
                        value = t.price
            at[f] = value
        # input is stated (the caller checks); output is None only for an input-only model (an
        # embedding), whose calls have no output tokens to bill at it (a None rate prices them UNPRICED)
        out.append(PriceTier(above_input_tokens=start, input=at["input"], output=at["output"],  # type: ignore[arg-type]
                             cached_input=at["cached_input"], cache_write=at["cache_write"],
                             cache_write_1h=at["cache_write_1h"]))
    if not out:
        return None, ()
    return out[0], tuple(out[1:])
