"""Cost rounding in integers must agree with Decimal's ROUND_HALF_UP for every count and rate."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from llmlog.pricing.prices.cost import _micros

rates = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=6,
                    allow_nan=False, allow_infinity=False)


def _decimal_micros(tokens: int, rate: Decimal) -> int:
    return int((Decimal(tokens) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(st.integers(min_value=-10**9, max_value=10**9), rates)
def test_integer_rounding_matches_decimal_half_up(tokens, rate):
    assert _micros(tokens, rate) == _decimal_micros(tokens, rate)


def test_exact_halves_round_away_from_zero():
    assert _micros(1, Decimal("0.5")) == 1
    assert _micros(3, Decimal("0.5")) == 2
    assert _micros(-1, Decimal("0.5")) == -1
    assert _micros(1, Decimal("0.4999999")) == 0
    assert _micros(0, Decimal("2.5")) == 0
    assert _micros(1_000_000, Decimal("0.15")) == 150_000
