"""The personal data counts in the CLI: `--pii` on every command that takes the logs filters, the
summary's pii line and `llmlog show`'s, for calls made through the proxy, on every store backend."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from llmlog.cli import main
from tests.conftest import CHAT, chat_body, flushed

pytestmark = pytest.mark.backends

CARD = "4111 1111 1111 1111"  # Luhn-valid
PROMPTS = {
    "mail_card": f"write to ana@example.com, charge {CARD}",
    "mail": "ping carla@example.net",
    "phone": "call me on +44 20 7946 0958 please",
    "plain": "what is the capital of France",
}


@pytest.fixture
async def ids(proxy) -> dict[str, str]:
    found = {}
    for name, prompt in PROMPTS.items():
        resp = await proxy.post(CHAT, data=chat_body(prompt))
        assert resp.status == 200
        found[name] = resp.headers["x-llmlog-id"]
    await flushed(proxy)
    return found


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def listed(db_path: str, *args: str) -> set[str]:
    return {e["id"] for e in orjson.loads(run("logs", "--db", db_path, "--json", *args))["logs"]}


async def test_the_logs_commands_take_the_pii_filter(ids, db_path):
    assert listed(db_path, "--pii", "true") == {ids["mail_card"], ids["mail"], ids["phone"]}
    assert listed(db_path, "--pii", "false") == {ids["plain"]}
    assert listed(db_path, "--pii", "card,phone") == {ids["mail_card"], ids["phone"]}
    assert listed(db_path, "--pii", "email", "--pii", "phone") == {ids["mail_card"], ids["mail"], ids["phone"]}
    summary = orjson.loads(run("summary", "--db", db_path, "--json", "--pii", "email"))
    assert summary["summary"]["total_calls"] == 2
    assert summary["pii"] == {"calls": 2, "by_kind": {"email": 2, "card": 1}}
    stats = orjson.loads(run("stats", "--db", db_path, "--json", "--group-by", "model", "--pii", "false"))
    assert (stats["totals"]["count"], stats["totals"]["pii_count"]) == (1, 0)
    result = CliRunner().invoke(main, ["logs", "--db", db_path, "--pii", "passport"])
    assert result.exit_code != 0 and "--pii" in result.output and "'passport'" in result.output


async def test_the_summary_prints_the_calls_with_personal_data(ids, db_path):
    assert "pii         3 calls (email 2, card 1, phone 1)" in run("summary", "--db", db_path)
    assert "pii " not in run("summary", "--db", db_path, "--pii", "false")  # no line when no call has any


async def test_show_prints_the_counts_of_a_call_with_personal_data(ids, db_path):
    # the fake upstream echoes the prompt: each value is counted in the prompt and in the answer
    assert '\npii                  {"email":2,"card":2}\n' in run("show", ids["mail_card"], "--db", db_path)
    assert "\npii " not in run("show", ids["plain"], "--db", db_path)
