"""Cost of one call in integer micro-dollars from its usage and price (pure; DESIGN §5)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from llmlog.pricing.prices.rates import STANDARD_SERVICE_TIERS
from llmlog.pricing.prices.table import PriceMatch, PriceTable
from llmlog.pricing.types import UNPRICED, Cost, Usage

# The most one call may cost, in micro-dollars ($1bn): beyond it the price or the counts are wrong
# (a typo in a price override), and the call is left unpriced rather than stored as a number that
# overflows SQLite's signed 64-bit INTEGER, or its sums. Exact as a JSON number (< 2^53).
MAX_COST_MICROS = 10**15


@lru_cache(maxsize=4096)
def _as_fraction(rate: Decimal) -> tuple[int, int]:
    return rate.as_integer_ratio()


def _micros(tokens: int, usd_per_million: Decimal) -> int:
    """`tokens × rate` rounded half-up (away from zero) to a whole micro-dollar, exactly.

    USD per 1M tokens is exactly micro-dollars per token, so no scaling is needed. The rate is a
    Decimal; as an integer fraction n/d the product rounds in integers, which gives the same
    result as Decimal's ROUND_HALF_UP at a fraction of the cost (compared in tests/pricing/test_cost_rounding.py)."""
    if not tokens:
        return 0
    num, den = _as_fraction(usd_per_million)
    if tokens < 0:
        return -_micros(-tokens, usd_per_million)
    if num < 0:
        return -_micros(tokens, -usd_per_million)
    return (2 * tokens * num + den) // (2 * den)


@lru_cache(maxsize=4096)
def _rate_parts(rate: Decimal) -> tuple[int, int, str]:
    """A non-negative rate as an exact fraction (numerator, denominator) and as the entry shows it:
    `0.6`, `15`, never `0.60` or `1.5E+1`."""
    num, den = rate.as_integer_ratio()
    return num, den, format(rate.normalize(), "f")


def _nanos(tokens: int, usd_per_million: Decimal) -> int:
    """`tokens × rate` in nano-dollars (a thousandth of a micro-dollar), rounded half-up: exact for
    every published rate with up to three decimals below the cent per 1M tokens, so a 10-token
    embedding call is 200 nano-dollars, never a priced $0."""
    if not tokens:
        return 0
    num, den = _as_fraction(usd_per_million)
    return (2 * tokens * num * 1000 + den) // (2 * den)


# Which stored column each bucket adds to: input, cached input, cache writes, output (Cost's four).
_COLUMN_OF = {"input": 0, "input_audio": 0, "cached_input": 1, "cache_write": 2, "cache_write_1h": 2,
              "output": 3, "output_audio": 3}


def compute_cost(usage: Usage, match: PriceMatch | None, version: str) -> Cost:
    """Price `usage` on disjoint buckets, each rounded half-up to a whole micro-dollar.

    Buckets: uncached text input, audio input, cache reads, 5-minute and 1-hour cache writes, text
    output (reasoning included, since `output_tokens` already counts it), audio output. A call
    served at a service tier (flex, priority) is billed at that tier's rates when the model has
    them, else at the standard rates (`service_tier_priced` False). The
    long-context tier, when the prompt exceeds it, prices the whole call. No price -> `UNPRICED`,
    never a silent zero; nor a cost above MAX_COST_MICROS.
    """
    if match is None:
        return UNPRICED
    price, tier_priced = match.price, None
    if usage.service_tier and usage.service_tier not in STANDARD_SERVICE_TIERS:
        # a tier the data has no price for is billed at the standard rates, and the entry says so
        at_tier = price.for_service_tier(usage.service_tier)
        price, tier_priced = (at_tier, True) if at_tier is not None else (price, False)
    rates = price.rates(usage.input_tokens)
    buckets: list[tuple[str, int, int, str, int]] = []
    # the four stored columns, in the order of `_COLUMN_OF`; summed as the buckets are priced
    grouped = [0, 0, 0, 0]
    nanos = 0
    if (usage.cached_input_tokens or usage.cache_write_tokens or usage.cache_write_1h_tokens
            or usage.input_audio_tokens or usage.output_audio_tokens):
        billed: tuple[tuple[str, int, Decimal | None], ...] = (
            ("input", usage.uncached_input_tokens, rates.input),
            ("input_audio", usage.input_audio_tokens, rates.input_audio),
            ("cached_input", usage.cached_input_tokens, rates.cached_input),
            ("cache_write", usage.cache_write_5m_tokens, rates.cache_write),
            ("cache_write_1h", usage.cache_write_1h_tokens, rates.cache_write_1h),
            ("output", usage.output_text_tokens, rates.output),
            ("output_audio", usage.output_audio_tokens, rates.output_audio),
        )
    else:  # most calls: text in, text out, nothing cached or written; the other buckets are empty
        billed = (("input", usage.uncached_input_tokens, rates.input),
                  ("output", usage.output_text_tokens, rates.output))
    for name, tokens, rate in billed:
        if not tokens:
            continue
        if rate is None:  # audio or a 1-hour write with no known price: never billed at a text rate
            return UNPRICED
        num, den, text = _rate_parts(rate)
        micros = (2 * tokens * num + den) // (2 * den)  # = _micros, _nanos: one cache look-up
        bucket_nanos = (2000 * tokens * num + den) // (2 * den)
        buckets.append((name, tokens, micros, text, bucket_nanos))
        grouped[_COLUMN_OF[name]] += micros
        nanos += bucket_nanos
    cost = Cost(
        priced=True,
        input_micros=grouped[0],
        cached_input_micros=grouped[1],
        cache_write_micros=grouped[2],
        output_micros=grouped[3],
        pricing_version=version,
        buckets=tuple(buckets),
        total_nanos=nanos,
        service_tier_priced=tier_priced,
    )
    if not -MAX_COST_MICROS <= sum(grouped) <= MAX_COST_MICROS:  # the total micros; so nanos stay below 2^63 too
        return UNPRICED
    return cost


def price_call(prices: PriceTable, usage: Usage, provider: str | None,
               response_model: str | None, model: str | None) -> Cost:
    """Cost of one call: the model as answered is priced first (a dated snapshot may have its own
    price), then the model as requested. Shared by the pipeline and `llmlog reprice`."""
    for candidate in (response_model, model):
        if candidate and (match := prices.lookup(candidate, provider)) is not None:
            return compute_cost(usage, match, prices.version)
    return UNPRICED
