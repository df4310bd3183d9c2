"""Model id -> price lookup: rules, overrides, LiteLLM files, versions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from llmlog.pricing.prices.table import PROVIDER_PREFIXES, RULES, PriceTable


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.shipped()


D = Decimal


@pytest.mark.parametrize(
    ("model", "provider", "entry", "rule", "input", "output"),
    [
        # exact ids, case-insensitive
        ("gpt-4o", None, "gpt-4o", "exact", D("2.50"), D("10")),
        ("GPT-4o-Mini", None, "gpt-4o-mini", "exact", D("0.15"), D("0.60")),
        # a dated snapshot with its own published price is listed exactly
        ("gpt-4o-2024-05-13", None, "gpt-4o-2024-05-13", "exact", D("5"), D("15")),
        # an id genai-prices lists for a model (an `equals` clause) is an exact id
        ("claude-opus-4", None, "claude-opus-4-0", "exact", D("15"), D("75")),
        ("gpt-4-turbo-preview", None, "gpt-4-turbo", "exact", D("10"), D("30")),
        ("gpt-4o-2024-08-06", None, "gpt-4o", "exact", D("2.50"), D("10")),
        ("gpt-4-0613", None, "gpt-4", "exact", D("30"), D("60")),
        ("gpt-3.5-turbo-0125", None, "gpt-3.5-turbo", "exact", D("0.50"), D("1.50")),
        ("mistral-large-2411", None, "mistral-large", "exact", D("2"), D("6")),
        ("o3-mini-2025-01-31", None, "o3-mini", "exact", D("1.10"), D("4.40")),
        # genai-prices' other match clauses (starts_with, contains, regex)
        ("claude-3-5-sonnet-20241022", None, "claude-3-5-sonnet", "match", D("3"), D("15")),
        ("claude-3-5-sonnet-v2@20241022", None, "claude-3-5-sonnet", "match", D("3"), D("15")),
        ("gemini-1.5-pro-002", None, "gemini-1.5-pro", "match", D("1.25"), D("5")),
        ("gpt-4o-audio-preview-2024-12-17", None, "gpt-4o-audio-preview", "match", D("2.50"), D("10")),
        # a date suffix removed
        ("claude-opus-4@20250514", None, "claude-opus-4-0", "prefix", D("15"), D("75")),
        ("gpt-5.2-20251211", None, "gpt-5.2", "prefix", D("1.75"), D("14")),
        # a version with its own price beats its family
        ("mistral-large-2512", None, "mistral-large-2512", "exact", D("0.50"), D("1.50")),
        ("gpt-3.5-turbo-1106", None, "gpt-3.5-turbo-1106", "exact", D("1"), D("2")),
        # provider-qualified: the configured provider, or a routing prefix the client sent
        ("llama-3.3-70b-versatile", "groq", "llama-3.3-70b-versatile", "provider", D("0.59"), D("0.79")),
        ("groq/llama-3.3-70b-versatile", None, "llama-3.3-70b-versatile", "exact", D("0.59"), D("0.79")),
        ("xai/grok-3", None, "grok-3", "provider", D("3"), D("15")),
        ("openai/gpt-oss-120b", "groq", "openai/gpt-oss-120b", "provider", D("0.15"), D("0.60")),
        (
            "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo", "provider", D("0.88"), D("0.88"),
        ),
        # an unrelated provider name does not hide a bare id
        ("gpt-4o", "my-azure", "gpt-4o", "exact", D("2.50"), D("10")),
        # fine-tunes: billed at the listed fine-tune price of the family
        ("ft:gpt-4o-mini-2024-07-18:org::abc", None, "ft:gpt-4o-mini", "fine_tune", D("0.30"), D("1.20")),
        ("ft:gpt-4o-2024-08-06:acme:custom:9xYz", None, "ft:gpt-4o", "fine_tune", D("3.75"), D("15")),
        ("ft:gpt-3.5-turbo-0613:org::x1", None, "ft:gpt-3.5-turbo-", "fine_tune", D("3"), D("6")),
    ],
)
def test_lookup_rules(table, model, provider, entry, rule, input, output):
    match = table.lookup(model, provider)
    assert match is not None, model
    assert (match.price.model, match.rule) == (entry, rule)
    assert (match.price.input, match.price.output) == (input, output)
    assert match.rule in RULES


def test_dated_snapshot_specifics(table):
    # gpt-4o-2024-08-06 is billed at $2.50 / $1.25 cached / $10, not the 05-13 launch price
    price = table.lookup("gpt-4o-2024-08-06").price
    assert (price.input, price.cached_input, price.output) == (D("2.50"), D("1.25"), D("10.00"))
    # gpt-4o-2024-05-13 has no cached-input discount
    assert table.lookup("gpt-4o-2024-05-13").price.cached_input is None


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("my-local-model", None),
        ("", None),
        (None, None),
        # a prefix match only strips a whole date/version suffix
        ("gpt-4o-mini-foo", None),
        ("gpt-4oo", None),
        ("claude-4-ultra", None),
        # open models are priced per host; a bare id or an unknown host is not guessed
        ("llama-3.3-70b-versatile", None),
        ("llama-3.3-70b-versatile", "ollama"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", None),
        # a fine-tune of an unknown base
        ("ft:my-base:org::abc", None),
        ("ft:", None),
        # a fine-tune without its own price is not billed at its base's
        ("ft:o4-mini-2025-04-16:org::x1", None),
    ],
)
def test_unknown_models_are_unpriced(table, model, provider):
    assert table.lookup(model, provider) is None


def test_provider_prefixes_are_distinct_lowercase_names():
    assert all(p == p.strip().lower() and "/" not in p for p in PROVIDER_PREFIXES)
    assert {"openai", "anthropic", "groq", "together"} <= PROVIDER_PREFIXES


def test_rules_are_the_documented_set():
    assert RULES == {"exact", "provider", "prefix", "match", "fine_tune", "override"}


# --- config overrides --------------------------------------------------------------------------


def test_override_replaces_and_adds(table):
    t = table.with_overrides({
        "gpt-4o": {"input": 2, "output": 8, "cached_input": 1},
        "my-local-model": {"input": 0, "output": 0},
        "azure/gpt-4o-mini": {"input": "0.165", "output": "0.66"},
    })
    m = t.lookup("gpt-4o-2024-11-20")
    assert (m.rule, m.price.input, m.price.output, m.price.origin) == ("override", D(2), D(8), "override")
    assert t.lookup("my-local-model").price.input == D(0)
    assert t.lookup("my-local-model").rule == "override"
    # a per-provider override wins for that provider only
    assert t.lookup("gpt-4o-mini", "azure").price.input == D("0.165")
    assert t.lookup("gpt-4o-mini").price.input == D("0.15")
    # the original table is untouched
    assert table.lookup("gpt-4o").price.input == D("2.50")
    assert table.lookup("my-local-model") is None


def test_override_replaces_whole_entry_so_left_out_keys_fall_back(table):
    t = table.with_overrides({"claude-sonnet-4-5": {"input": 3, "output": 15}})
    price = t.lookup("claude-sonnet-4-5-20250929").price
    assert price.cached_input is None and price.cache_write is None and price.tier is None


def test_override_keeps_aliases_pointing_at_the_new_price(table):
    t = table.with_overrides({"claude-opus-4": {"input": 1, "output": 2}})
    assert t.lookup("claude-opus-4-0").price.input == D(1)
    assert t.lookup("claude-opus-4-20250514").price.input == D(1)


def test_override_floats_stay_exact(table):
    # config TOML read without parse_float gives floats; 0.075 must stay 0.075
    t = table.with_overrides({"x": {"input": 0.075, "output": 0.3}})
    assert t.lookup("x").price.input == D("0.075")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"output": 1}, "missing 'input'"),
        ({"input": 1}, "missing 'output'"),
        ({"input": -1, "output": 1}, "non-negative"),
        ({"input": "cheap", "output": 1}, "must be a number"),
        ({"input": True, "output": 1}, "must be a number"),
        ({"input": 1, "output": 1, "cache_read": 0.1}, "unknown keys"),
        ({"input": 1, "output": 1, "tier": {"input": 2, "output": 2}}, "above_input_tokens"),
    ],
)
def test_bad_override_names_the_problem(table, raw, message):
    with pytest.raises(ValueError, match=message):
        table.with_overrides({"m": raw})


def test_version_changes_with_overrides(table):
    assert table.version.startswith("genai-prices-")
    a = table.with_overrides({"x": {"input": 1, "output": 2}})
    b = table.with_overrides({"x": {"input": 1, "output": 3}})
    assert a.version.startswith(table.version + "+ov.")
    assert len({table.version, a.version, b.version}) == 3
    # same overrides, same version: history priced with it can be found again
    assert a.version == table.with_overrides({"x": {"output": 2, "input": 1}}).version
    assert table.with_overrides({}) is table
    assert PriceTable.shipped().version == table.version


# --- LiteLLM price files -----------------------------------------------------------------------

LITELLM = """{
  "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "mode": "chat"},
  "gpt-4o": {
    "input_cost_per_token": 2.4e-06, "output_cost_per_token": 9.6e-06,
    "cache_read_input_token_cost": 1.2e-06, "litellm_provider": "openai", "mode": "chat"
  },
  "my-vllm/qwen-72b": {
    "input_cost_per_token": 0.0000009, "output_cost_per_token": 0.0000009,
    "litellm_provider": "my-vllm", "mode": "chat"
  },
  "claude-x": {
    "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
    "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
    "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
    "cache_read_input_token_cost_above_200k_tokens": 6e-07,
    "litellm_provider": "anthropic", "mode": "chat"
  },
  "dall-e-3": {"output_cost_per_image": 0.04, "mode": "image_generation"},
  "text-embedding-x": {"input_cost_per_token": 1e-08, "mode": "embedding"}
}"""


@pytest.fixture
def litellm_table(table, tmp_path):
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(LITELLM)
    return table.with_litellm_file(path)


def test_litellm_file_converts_per_token_to_per_million_exactly(litellm_table):
    m = litellm_table.lookup("gpt-4o-2024-08-06")
    assert m.rule == "override" and m.price.origin == "litellm"
    assert (m.price.input, m.price.cached_input, m.price.output) == (D("2.4"), D("1.2"), D("9.6"))
    assert str(m.price.input) == "2.4"
    c = litellm_table.lookup("claude-x").price
    assert (c.input, c.cache_write, c.cached_input, c.output) == (D(3), D("3.75"), D("0.3"), D(15))
    assert (c.tier.above_input_tokens, c.tier.input, c.tier.cached_input, c.tier.output) == (
        200_000, D(6), D("0.6"), D("22.5"),
    )
    assert litellm_table.lookup("text-embedding-x") is None  # no output price: unknown, never free


def test_litellm_file_adds_and_skips(litellm_table, table):
    assert litellm_table.lookup("qwen-72b", "my-vllm").price.input == D("0.9")
    assert litellm_table.lookup("sample_spec") is None
    assert litellm_table.lookup("dall-e-3") is None
    # shipped models it does not mention are untouched
    assert litellm_table.lookup("claude-3-haiku-20240307").price == table.lookup("claude-3-haiku").price
    assert litellm_table.version.startswith(table.version + "+litellm.")


def test_config_overrides_layer_over_litellm(litellm_table):
    t = litellm_table.with_overrides({"gpt-4o": {"input": 1, "output": 1}})
    assert t.lookup("gpt-4o").price.origin == "override"
    assert t.version.startswith(litellm_table.version + "+ov.")


def test_litellm_file_must_be_an_object(table, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="JSON object"):
        table.with_litellm_file(path)


def test_remembered_answers_never_leak_between_tables_or_forms():
    base = PriceTable.shipped()
    before = base.lookup("gpt-4o-2024-11-20")
    assert before.price.origin == "genai-prices" and base.lookup("gpt-4o-2024-11-20") is before  # remembered
    layered = base.with_overrides({"gpt-4o": {"input": 2, "output": 8}})
    assert layered.lookup("gpt-4o-2024-11-20").price.origin == "override"  # not the base table's answer
    assert base.lookup("gpt-4o-2024-11-20") is before
    fresh = PriceTable.shipped()
    base.lookup("gpt-4o-mini")  # remembered without a provider first
    assert base.lookup("gpt-4o-mini", "azure") == fresh.lookup("gpt-4o-mini", "azure")
    assert base.lookup("azure/gpt-4o-mini") == fresh.lookup("azure/gpt-4o-mini")
    assert base.lookup("no-such-model") is None and base.lookup("no-such-model", "openai") is None
