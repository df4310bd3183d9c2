"""Prices that cannot be used stop `llmlog serve` with one line, and no model id can stop a call
from being logged (issue 15 review): never a traceback, a hang or a wrong cost."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from llmlog import cli
from tests.conftest import CHAT, chat_body, flushed

BAD_OVERRIDES = {
    "huge exponent": 'input = "1e999999999"\noutput = 10',
    "tiny exponent": 'input = "1e-999999999"\noutput = 10',
    "negative": "input = -1\noutput = 2",
    "nan": 'input = "nan"\noutput = 2',
    "text": 'input = "cheap"\noutput = 2',
    "no output": "input = 1",
    "bool": "input = true\noutput = 2",
}


@pytest.mark.parametrize("body", BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_a_bad_price_override_is_one_line_at_start(tmp_path, body):
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[pricing.models."gpt-4o"]\n{body}\n')
    result = CliRunner().invoke(cli.main, ["serve", "--config", str(config), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: prices: pricing.models.'gpt-4o'")


@pytest.mark.parametrize("content", ["[[[[", "[" * 100_000 + "]" * 100_000, "\x00\xff binary", None])
def test_a_litellm_file_that_cannot_be_read_is_one_line_at_start(tmp_path, content):
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content, errors="surrogateescape")
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[pricing]\nlitellm_file = "{path}"\n')
    result = CliRunner().invoke(cli.main, ["serve", "--config", str(config), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ") and ("prices.json" in line or "prices:" in line)


def test_pricing_models_that_is_not_a_table_is_one_line(tmp_path):
    config = tmp_path / "llmlog.toml"
    config.write_text('[pricing]\nmodels = "x"\n')
    result = CliRunner().invoke(cli.main, ["serve", "--config", str(config), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "[pricing.models] must hold one table per model" in result.output


@pytest.mark.parametrize("model", ["models/" * 1000 + "gemini-2.0-flash", "openai/" * 1000 + "gpt-4o",
                                   "x" * 10_000])
async def test_no_model_id_stops_a_call_from_being_logged(proxy, model):
    resp = await proxy.post(CHAT, data=chat_body(model=model))
    assert resp.status == 200
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["model"] == model and entry["priced"] is False and entry["cost_usd"] is None
    assert entry["input_tokens"] > 0 and entry["request"]["body"]["model"] == model
    assert "could not interpret" not in (entry["error"] or "")
