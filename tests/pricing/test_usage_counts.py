"""The one check every usage count passes (pricing/usage/normalise.py `token_count`), and the cost bound:
what a provider says is taken only when the store can hold it and the sums cannot overflow."""

from __future__ import annotations

import pytest

from llmlog.pricing.prices.cost import MAX_COST_MICROS, compute_cost
from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.types import UNPRICED, Usage
from llmlog.pricing.usage.normalise import MAX_TOKENS, BadCount, anthropic_usage, openai_usage, token_count
from llmlog.pricing.usage.read import parse_response

INT64_MAX = 2**63 - 1


@pytest.mark.parametrize("value, expected", [
    (0, 0), (12, 12), (12.0, 12), (None, 0), (MAX_TOKENS, MAX_TOKENS), (float(MAX_TOKENS), MAX_TOKENS),
])
def test_counts_taken(value, expected):
    assert token_count(value, "n") == expected and type(token_count(value, "n")) is int


@pytest.mark.parametrize("value, why", [
    (2**63, "out of range"), (2**64, "out of range"), (1.8446744073709552e19, "out of range"),
    (1e20, "out of range"), (1e308, "out of range"), (MAX_TOKENS + 1, "out of range"),
    (-5, "out of range"), (-0.5, "not a whole number"), (3.5, "not a whole number"),
    (float("inf"), "not a whole number"), (float("nan"), "not a whole number"),
    ("12", "not a number"), (True, "not a number"), (False, "not a number"), ([1], "not a number"),
    ({"n": 1}, "not a number"),
])
def test_counts_refused(value, why):
    with pytest.raises(BadCount, match=why):
        token_count(value, "prompt_tokens")


def test_bound_keeps_costs_and_sums_inside_int64():
    # the dearest published price is a few hundred USD per 1M tokens; every bucket at the bound
    # at $1,000 per 1M tokens still leaves room for millions of such calls in a SUM
    assert 4 * MAX_TOKENS * 1000 * 2_000_000 < INT64_MAX
    assert MAX_COST_MICROS < 2**53 and MAX_COST_MICROS * 9000 < INT64_MAX


@pytest.mark.parametrize("reader, usage", [
    (openai_usage, {"prompt_tokens": 1e20, "completion_tokens": 2}),
    (openai_usage, {"input_tokens": 3, "output_tokens": "2"}),
    (openai_usage, {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": -1}),
    (openai_usage, {"prompt_tokens": 3, "completion_tokens": 2,
                    "completion_tokens_details": {"reasoning_tokens": 2**64}}),
    (anthropic_usage, {"input_tokens": 3, "output_tokens": 2, "cache_creation_input_tokens": 3.5}),
    (anthropic_usage, {"input_tokens": True, "output_tokens": 2}),
])
def test_one_bad_count_makes_the_whole_usage_unknown(reader, usage):
    got = reader(usage)
    assert got.source == "none" and got.problem and "unknown" in got.problem


def test_plain_usage_has_no_problem():
    assert openai_usage({"prompt_tokens": 3, "completion_tokens": 2}) == Usage(input_tokens=3, output_tokens=2)
    assert anthropic_usage({"input_tokens": 3, "output_tokens": None}).problem is None


def test_anthropic_stream_keeps_the_delta_count_as_sent_for_the_check():
    body = (b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5}}}\n\n'
            b'event: message_delta\ndata: {"type":"message_delta","delta":{},"usage":{"output_tokens":1e20}}\n\n')
    info = parse_response("anthropic", "/v1/messages", body, stream=True)
    assert info.usage.problem and "output_tokens = 1e+20" in info.usage.problem
    assert info.assembled["usage"]["output_tokens"] == 1e20  # the assembled message says what was sent


def test_a_cost_beyond_the_bound_is_unpriced_not_stored():
    # the largest rate a price may have (pricing/prices/rates.py MAX_PRICE) on the most tokens a count may hold
    table = PriceTable.shipped().with_overrides({"typo": {"input": 10**6, "output": 10**6}})
    cost = compute_cost(Usage(input_tokens=MAX_TOKENS, output_tokens=MAX_TOKENS), table.lookup("typo"), "v")
    assert cost == UNPRICED
    fine = compute_cost(Usage(input_tokens=MAX_TOKENS), table.lookup("typo"), "v")
    assert fine.priced and fine.total_micros == 10**15 and fine.total_nanos == 10**18  # still below 2^63


def test_a_rate_beyond_the_price_bounds_is_refused():
    with pytest.raises(ValueError, match="outside"):
        PriceTable.shipped().with_overrides({"typo": {"input": 10**12, "output": 1}})
