"""One model's price (USD per 1M tokens) and how a raw table of price keys becomes one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, NamedTuple, TypedDict

# Keys a price table (shipped TOML or config `[pricing.models."name"]`) may hold. Anything else is
# an error: a misspelt `cache_read` would otherwise silently bill cache hits at the input price.
PRICE_KEYS = frozenset({
    "input", "cached_input", "cache_write", "cache_write_1h", "output",
    "input_audio", "cached_input_audio", "output_audio",
})
ENTRY_KEYS = PRICE_KEYS | frozenset({
    "source", "date", "verified", "aliases", "note", "explained", "tier", "deprecated",
})
TIER_KEYS = frozenset({"input", "cached_input", "cache_write", "cache_write_1h", "output", "above_input_tokens"})

# `service_tier` values that mean the standard price (OpenAI answers `default`; `auto` is only
# asked for, but a compatible server may echo it).
STANDARD_SERVICE_TIERS = frozenset({"default", "auto", "standard"})

# Where an entry (and each of its rates) came from, lowest layer first (DESIGN §5).


class Rates(NamedTuple):
    """The per-1M-token prices that apply to one call, fallbacks resolved. The last three have no
    fallback: None means no price is known, and a call with such tokens is left unpriced rather
    than billed at a text rate."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    output: Decimal
    cache_write_1h: Decimal | None = None
    input_audio: Decimal | None = None
    output_audio: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Long-context prices: a call whose input exceeds the threshold is billed wholly at these.

    That is how Google (Gemini 1.5/2.5 Pro) and Anthropic (Sonnet 4/4.5 1M context) bill: the
    threshold picks the rate for the whole call, it does not split the tokens.
    """

    above_input_tokens: int
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Prices of one model in USD per 1M tokens (equal to micro-dollars per token).

    A missing `cached_input` or `cache_write` means the provider bills those tokens at `input`.
    `cache_write` is the 5-minute cache write; `cache_write_1h` and the audio rates are carried
    for the buckets that bill them (None: the data has no such rate). `tier` is the lowest
    long-context tier, `upper_tiers` any higher ones (a call is billed wholly at the highest tier
    its prompt exceeds). `date` is the day the price was verified against `source`, when known.
    `layers` names, per rate, the layer it came from (see `layer_of`). `note` and `explained`
    record known, deliberate differences from other price lists.
    """

    model: str
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    source: str | None = None
    date: str | None = None
    tier: PriceTier | None = None
    provider: str | None = None
    aliases: tuple[str, ...] = ()
    note: str | None = None
    explained: frozenset[str] = frozenset()
    origin: str = "genai-prices"
    cache_write_1h: Decimal | None = None
    input_audio: Decimal | None = None
    output_audio: Decimal | None = None
    cached_input_audio: Decimal | None = None
    upper_tiers: tuple[PriceTier, ...] = ()
    deprecated: bool = False
    layers: tuple[tuple[str, str], ...] = ()
    # (tier, the whole price at that tier): OpenAI's `flex`, `priority`… where the data has them
    service_tiers: tuple[tuple[str, ModelPrice], ...] = ()
    _standard: Rates = field(init=False, repr=False, compare=False)  # set by __post_init__

    def for_service_tier(self, tier: str) -> ModelPrice | None:
        """This model's price at `service_tier` `tier`, or None when the data has none for it."""
        name = tier.lower()
        return next((p for t, p in self.service_tiers if t == name), None)

    def __post_init__(self) -> None:
        # the rates of a call below any long-context tier, made once: every call priced needs them
        object.__setattr__(self, "_standard", Rates(
            self.input, _or(self.cached_input, self.input), _or(self.cache_write, self.input), self.output,
            self.cache_write_1h, self.input_audio, self.output_audio,
        ))

    def rates(self, input_tokens: int) -> Rates:
        """Prices for a call with `input_tokens` prompt tokens (cached included)."""
        if self.tier is not None and input_tokens > self.tier.above_input_tokens:
            t = self.tier
            for upper in reversed(self.upper_tiers):
                if input_tokens > upper.above_input_tokens:
                    t = upper
                    break
            return Rates(t.input, _or(t.cached_input, t.input), _or(t.cache_write, t.input), t.output,
                         t.cache_write_1h, self.input_audio, self.output_audio)
        return self._standard


    def layer_of(self, rate: str) -> str:
        """The layer `rate` (a PRICE_KEYS name, or "tier") came from, e.g. "genai-prices 0.2.3"."""
        for name, layer in self.layers:
            if name == rate:
                return layer
        return self.origin


RateName = Literal["input", "cached_input", "cache_write", "cache_write_1h", "output",
                   "input_audio", "cached_input_audio", "output_audio"]
TierRateName = Literal["input", "cached_input", "cache_write", "cache_write_1h", "output"]
RATE_FIELDS: Final[tuple[RateName, ...]] = (
    "input", "cached_input", "cache_write", "cache_write_1h", "output",
    "input_audio", "cached_input_audio", "output_audio",
)
TIER_RATE_FIELDS: Final[tuple[TierRateName, ...]] = ("input", "cached_input", "cache_write", "cache_write_1h", "output")


class RateFields(TypedDict, total=False):
    """Some of a ModelPrice's rates (USD per 1M tokens), by field name: what a price source states."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    output: Decimal
    input_audio: Decimal
    cached_input_audio: Decimal
    output_audio: Decimal


class TierRates(TypedDict, total=False):
    """Some of a PriceTier's rates (USD per 1M tokens), by field name."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    output: Decimal


def _or(value: Decimal | None, default: Decimal) -> Decimal:
    return default if value is None else value


# Bounds of a price in USD per 1M tokens: far beyond any list price either way, so that no rate can
# make the exact arithmetic of pricing (fractions, nano-dollars) slow or overflow.
MAX_PRICE = Decimal(1_000_000)
MIN_PRICE_EXPONENT = -12


def to_decimal(value: Any, where: str) -> Decimal:
    """A non-negative price as an exact Decimal.

    Floats go through `str` (shortest repr), so `0.075` from a TOML or JSON file stays 0.075
    rather than becoming 0.07499999999999999722444243843710864894092082977294921875.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{where}: price must be a number, got {value!r}")
    try:
        result = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{where}: price must be a number, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise ValueError(f"{where}: price must be a non-negative number, got {value!r}")
    if result > MAX_PRICE or (result and result.adjusted() < MIN_PRICE_EXPONENT):
        # pricing works on exact fractions: `1e999999999` would make a number of a billion digits
        raise ValueError(f"{where}: price {value!r} is outside 0 or 1e-12 to {MAX_PRICE:,} USD per 1M tokens")
    return result


def _optional(raw: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    return None if raw.get(key) is None else to_decimal(raw[key], f"{where}.{key}")


def _required(raw: Mapping[str, Any], key: str, where: str) -> Decimal:
    if raw.get(key) is None:
        raise ValueError(f"{where}: missing {key!r} (USD per 1M tokens)")
    return to_decimal(raw[key], f"{where}.{key}")


def _parse_tier(raw: Any, where: str) -> PriceTier:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a table")
    unknown = set(raw) - TIER_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    threshold = raw.get("above_input_tokens")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise ValueError(f"{where}.above_input_tokens: must be a non-negative integer")
    return PriceTier(
        above_input_tokens=threshold,
        input=_required(raw, "input", where),
        output=_required(raw, "output", where),
        cached_input=_optional(raw, "cached_input", where),
        cache_write=_optional(raw, "cache_write", where),
        cache_write_1h=_optional(raw, "cache_write_1h", where),
    )


def parse_fields(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The ModelPrice fields a table of price keys sets, validated; keys it leaves out are absent.

    `verified` (a correction's check date) and `date` (its older name) both set `date`."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a table of prices")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; expected some of {sorted(ENTRY_KEYS)}")
    fields: dict[str, Any] = {}
    for rate in RATE_FIELDS:
        if rate in raw:
            fields[rate] = _optional(raw, rate, where)
    for key in ("date", "verified"):
        if raw.get(key) is not None:
            value = raw[key]
            value = value.isoformat() if isinstance(value, dt.date) else str(value)  # a TOML date literal
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{where}.{key}: must be a date, YYYY-MM-DD") from None
            fields["date"] = value
    aliases = raw.get("aliases", ())
    explained = raw.get("explained", ())
    if isinstance(aliases, str) or isinstance(explained, str):
        raise ValueError(f"{where}: 'aliases' and 'explained' must be lists")
    if aliases:
        fields["aliases"] = tuple(str(a) for a in aliases)
    if explained:
        fields["explained"] = frozenset(str(e) for e in explained)
    for key in ("source", "note"):
        if raw.get(key) is not None:
            fields[key] = str(raw[key])
    if raw.get("deprecated") is not None:
        fields["deprecated"] = bool(raw["deprecated"])
    if raw.get("tier") is not None:
        fields["tier"] = _parse_tier(raw["tier"], f"{where}.tier")
    return fields


def parse_entry(
    model: str,
    raw: Mapping[str, Any],
    *,
    origin: str,
    provider: str | None = None,
    where: str | None = None,
    layer: str | None = None,
) -> ModelPrice:
    """Build a whole ModelPrice from a table of price keys; raise ValueError naming the bad key.

    `input` and `output` are required; every rate given is recorded as coming from `layer`."""
    where = where or f"pricing.models.{model!r}"
    fields = parse_fields(raw, where)
    for key in ("input", "output"):
        if fields.get(key) is None:
            raise ValueError(f"{where}: missing {key!r} (USD per 1M tokens)")
    label = layer or origin
    layers = tuple((k, label) for k in (*RATE_FIELDS, "tier") if fields.get(k) is not None)
    return ModelPrice(model=model, provider=provider, origin=origin, layers=layers, **fields)


def merge_fields(base: ModelPrice, fields: Mapping[str, Any], *, origin: str, layer: str) -> ModelPrice:
    """`base` with the rates and facts in `fields` replaced, field by field; each replaced rate
    now says it came from `layer`. Rates `fields` leaves out (and the tiers) keep their layer."""
    changed = {k: v for k, v in fields.items()}
    rates = [k for k in (*RATE_FIELDS, "tier") if k in changed]
    layers = tuple((k, kept) for k, kept in base.layers if k not in rates) + tuple((k, layer) for k in rates)
    return replace(base, origin=origin, layers=layers, **changed)
