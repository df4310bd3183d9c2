"""`llmlog pricing` and `llmlog reprice` through the real CLI, on a database the proxy wrote."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.store.backends import open_store
from tests.conftest import age_call, flushed

CHAT = "/v1/chat/completions"


def run(*args: str):
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result


async def logged_calls(proxy, *models: str) -> list[str]:
    ids = []
    for model in models:
        resp = await proxy.post(CHAT, data=orjson.dumps({"model": model,
                                                         "messages": [{"role": "user", "content": "a b c"}]}))
        assert resp.status == 200
        ids.append(resp.headers["x-llmlog-id"])
    await flushed(proxy)
    return ids


def costs(db_path: str, call_id: str) -> tuple:
    store = open_store(db_path, create=False)
    try:
        metrics, _ = store.get_log(call_id)
    finally:
        store.close()
    return tuple(metrics[c] for c in ("priced", "cost_micros", "input_cost_micros", "output_cost_micros",
                                      "pricing_version"))


def test_pricing_model_shows_each_rate_with_its_layer():
    result = run("pricing", "claude-3-5-sonnet-20241022")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "claude-3-5-sonnet-20241022  →  anthropic/claude-3-5-sonnet  (rule: match, genai-prices)"
    rates = {line.split("$")[0].strip(): line.split("$")[1].split()[0]
             for line in lines if line.startswith("  ") and "$" in line}
    assert (rates["input"], rates["cached input"], rates["cache write"], rates["output"]) == ("3", "0.3", "3.75", "15")
    assert rates["cache write 1h"] == "6"  # genai-prices carries Anthropic's 1-hour cache-write rate
    assert any(line.startswith("  input ") and line.endswith("genai-prices 0.2.3") for line in lines)
    assert any(line.startswith("source: https://") for line in lines)
    ft = orjson.loads(run("pricing", "ft:gpt-4o-mini-2024-07-18:org::abc", "--json").output)
    assert ft["rule"] == "fine_tune" and ft["matched"] == "ft:gpt-4o-mini"
    assert ft["layers"]["input"].startswith("genai-prices ")
    assert ft["layers"]["cached_input"] == "correction (https://platform.openai.com/docs/pricing, not verified)"
    tiered = orjson.loads(run("pricing", "claude-sonnet-4-5", "--json").output)
    assert tiered["tier"]["above_input_tokens"] == 200000 and tiered["tier"]["input"] == "6"


def test_pricing_model_names_the_litellm_and_config_layers(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text('{"claude-sonnet-4-5": {"output_cost_per_token": 1.6e-05, "input_cost_per_token": 3e-06}}')
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[pricing]\nlitellm_file = "{prices}"\n')
    info = orjson.loads(run("pricing", "claude-sonnet-4-5", "--json", "--config", str(config)).output)
    assert info["output"] == "16" and info["layers"]["output"] == f"litellm file {prices}"
    assert info["layers"]["cached_input"].startswith("genai-prices ")  # merged field by field
    assert info["tier"]["above_input_tokens"] == 200000  # the file has no tier: the entry keeps its own
    config.write_text(f'[pricing]\nlitellm_file = "{prices}"\n[pricing.models."claude-sonnet-4-5"]\n'
                      'input = 1\noutput = 2\n')
    info = orjson.loads(run("pricing", "claude-sonnet-4-5", "--json", "--config", str(config)).output)
    assert info["output"] == "2" and info["layers"]["output"] == "config" and info["tier"] is None


def test_pricing_unknown_model_is_an_actionable_error():
    result = CliRunner().invoke(cli.main, ["pricing", "my-local-model"])
    assert result.exit_code == 1 and 'pricing.models."my-local-model"' in result.output


def test_pricing_table_listing_by_provider():
    result = run("pricing", "--provider", "anthropic", "--json")
    listed = orjson.loads(result.output)["models"]
    assert listed and {m["provider"] for m in listed} == {"anthropic"}
    assert "claude-sonnet-4-5" in {m["model"] for m in listed}
    assert run("pricing", "--provider", "anthropic").output.startswith(f"{len(listed)} models from anthropic")


@pytest.mark.backends
async def test_unpriced_lists_models_seen_without_a_price(proxy, db_path, tmp_path):
    await logged_calls(proxy, "my-local-model", "gpt-4o-mini", "my-local-model")
    result = run("pricing", "--unpriced", "--db", db_path)
    rows = [line.split() for line in result.output.splitlines()[1:] if line.strip()]
    assert rows[0] == ["openai", "my-local-model", "2"] and len(rows) == 2  # and the hint line
    config = tmp_path / "priced.toml"
    config.write_text('[pricing.models."my-local-model"]\ninput = 1\noutput = 2\n')
    assert run("pricing", "--unpriced", "--db", db_path, "--config", str(config)).output == \
        "every model in the logs has a price\n"


@pytest.mark.backends
async def test_reprice_applies_a_config_override_exactly(proxy, db_path, tmp_path):
    local, mini, old = await logged_calls(proxy, "my-local-model", "gpt-4o-mini", "gpt-4o-mini")
    # fake upstream: 12 prompt tokens, 4 completion tokens; shipped gpt-4o-mini $0.15/$0.60 per 1M:
    # 12 x 0.15 = 1.8 -> 2 µ$, 4 x 0.60 = 2.4 -> 2 µ$
    assert costs(db_path, mini)[:4] == (1, 4, 2, 2)
    assert costs(db_path, local)[:2] == (0, None)
    age_call(db_path, old, 40 * 86_400_000)
    config = tmp_path / "llmlog.toml"
    config.write_text('[pricing.models."gpt-4o-mini"]\ninput = 10\noutput = 20.5\n'
                      '[pricing.models."my-local-model"]\ninput = 0.5\noutput = 1.25\n')
    result = run("reprice", "--since", "30d", "--db", db_path, "--config", str(config), "--batch-size", "1")
    assert result.exit_code == 0
    assert result.output.startswith("repriced 2 calls with pricing version genai-prices-")
    assert "2 changed" in result.output
    # the override answers for the dated snapshot the upstream named (gpt-4o-mini-2024-07-18):
    # 12 x 10 = 120 µ$, 4 x 20.5 = 82 µ$
    priced, total, inp, out, version = costs(db_path, mini)
    assert (priced, total, inp, out) == (1, 202, 120, 82) and "+ov." in version
    # now priced: 12 x 0.5 = 6 µ$, 4 x 1.25 = 5 µ$
    assert costs(db_path, local)[:4] == (1, 11, 6, 5)
    assert costs(db_path, old)[:2] == (1, 4)  # older than --since: untouched
    again = run("reprice", "--db", db_path, "--config", str(config))
    assert "repriced 3 calls" in again.output and "1 changed" in again.output
    assert costs(db_path, old)[:2] == (1, 202)


SONNET_45_BASE_ONLY = (
    '{"claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.6e-05, '
    '"cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, '
    '"cache_creation_input_token_cost_above_1hr": 6e-06, "input_cost_per_token_above_200k_tokens": 6e-06, '
    '"output_cost_per_token_above_200k_tokens": 2.25e-05}}')


def test_litellm_tier_is_merged_rate_by_rate_onto_the_entrys_tier(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(SONNET_45_BASE_ONLY)
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[pricing]\nlitellm_file = "{prices}"\n')
    result = run("pricing", "claude-sonnet-4-5", "--config", str(config))
    tier_line = next(line for line in result.output.splitlines() if "above 200,000" in line)
    # the file states the tier's input and output only: cached input and cache writes stay genai-prices'
    assert "input $6," in tier_line and "cached input $0.6," in tier_line and "cache write $7.5," in tier_line
    assert "output $22.5" in tier_line

    from llmlog.pricing.prices.cost import price_call
    from llmlog.pricing.types import Usage
    from llmlog.proxy.pipeline.prices import price_table_for
    from llmlog.proxy.settings import load_config

    table = price_table_for(load_config(str(config)))
    long_call = Usage(input_tokens=300_000, cache_write_tokens=100_000, cache_write_1h_tokens=100_000)
    cost = price_call(table, long_call, "anthropic", None, "claude-sonnet-4-5")
    assert cost.priced  # 1-hour writes above 200k keep the tier's $12 rate
    # 200k uncached x $6 + 100k 1h writes x $12 = $1.2 + $1.2
    assert cost.total_nanos == 2_400_000_000


def test_a_new_litellm_model_without_an_output_price_is_skipped_not_free(tmp_path, caplog):
    prices = tmp_path / "prices.json"
    prices.write_text('{"my-chat-model": {"input_cost_per_token": 1e-06, "mode": "chat"}, '
                      '"my-other-chat": {"input_cost_per_token": 1e-06, "mode": "chat"}, '
                      '"my-embedder": {"input_cost_per_token": 2e-08, "output_cost_per_token": 0, '
                      '"mode": "embedding"}, '
                      '"gpt-4o": {"output_cost_per_token": 1.2e-05}}')
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[pricing]\nlitellm_file = "{prices}"\n')
    with caplog.at_level("WARNING", logger="llmlog.pricing"):
        result = CliRunner().invoke(cli.main, ["pricing", "my-chat-model", "--config", str(config)])
    assert result.exit_code == 1 and "no price for 'my-chat-model'" in result.output
    warnings = [r.getMessage() for r in caplog.records if "my-chat-model" in r.getMessage()]
    assert len(warnings) == 1 and "my-other-chat" in warnings[0]  # one line for the file, not one per model
    assert orjson.loads(run("pricing", "my-embedder", "--json", "--config", str(config)).output)["output"] == "0"
    gpt = orjson.loads(run("pricing", "gpt-4o", "--json", "--config", str(config)).output)
    assert gpt["output"] == "12" and gpt["layers"]["input"].startswith("genai-prices ")  # a merge may give one rate


def _listing(*args: str) -> list[dict]:
    import re
    lines = run("pricing", *args).output.splitlines()[1:]
    headers = re.split(r"\s{2,}", lines[0].strip())
    # strict=False: an empty cell (no tier) merges two gaps, so such a row splits short; callers read full rows
    return [dict(zip(headers, re.split(r"\s{2,}", line.strip()), strict=False)) for line in lines[1:]]


def test_pricing_listing_puts_each_rate_under_its_column(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    rows = {r["model"]: r for r in _listing("--provider", "anthropic")}
    sonnet = rows["claude-sonnet-4-5"]
    assert (sonnet["input"], sonnet["cached"], sonnet["write 5m"], sonnet["write 1h"], sonnet["output"]) == (
        "$3", "$0.3", "$3.75", "$6", "$15")
    assert sonnet["tier above"] == "200,000" and sonnet["source"].startswith("genai-prices")
    assert "audio in" not in sonnet  # no Anthropic model has an audio rate
    audio = {r["model"]: r for r in _listing("--provider", "openai")}["gpt-audio"]
    assert (audio["audio in"], audio["audio out"]) == ("$32", "$64")
    listed = {m["model"]: m for m in orjson.loads(run("pricing", "--provider", "anthropic", "--json").output)["models"]}
    tier = listed["claude-sonnet-4-5"]["tier"]
    assert (tier["above_input_tokens"], tier["input"], tier["cached_input"], tier["cache_write"],
            tier["cache_write_1h"], tier["output"]) == (200000, "6", "0.6", "7.5", "12", "22.5")
    assert listed["claude-sonnet-4-5"]["cache_write_1h"] == "6" and listed["claude-2"]["tier"] is None


def test_pricing_model_shows_the_tiers_one_hour_write_rate():
    lines = run("pricing", "claude-sonnet-4-5").output.splitlines()
    tier_line = next(line for line in lines if "above 200,000" in line)
    assert "cache write 1h $12," in tier_line
    assert orjson.loads(run("pricing", "claude-sonnet-4-5", "--json").output)["tier"]["cache_write_1h"] == "12"
