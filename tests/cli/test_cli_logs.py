"""`llmlog logs`, `show`, `delete-user`, `prune` against a seeded database, via click's CliRunner."""

from __future__ import annotations

import time

import orjson
import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.store.backends import open_store
from tests.api.test_logs_list import _dataset
from tests.conftest import flushed
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def seeded(db_path):
    entries = _dataset()
    seed(db_path, list(entries.values()))
    return {name: entry.call["id"] for name, entry in entries.items()}


def test_logs_table_shows_rows_and_figures(db_path, seeded):
    result = run("logs", "--db", db_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert result.stderr.strip() == "6 of 6 calls"
    assert lines[0].split() == ["time", "(UTC)", "model", "status", "tokens", "cost", "latency", "user", "prompt"]
    body = lines[1:]
    assert len(body) == 6  # the old entry is outside the default 7 days
    # newest first: e6 (embedding), e4 (do-not-track), e3, e2, e1, e0
    assert "text-embedding-3-small" in body[0] and "$0.000001 " in body[0] and "vectors" in body[0]
    assert "error 429" in body[1] and "durian" not in result.output  # do-not-track: no preview
    assert "client_closed 499" in body[2] and "carol" in body[2] and "banana split" in body[2]
    assert "claude-3-5-sonnet" in body[3] and "unpriced" in body[3] and "5.00s" in body[3]
    assert "gpt-4o " in body[4] and "$2.50 " in body[4] and "3000" in body[4] and "900ms" in body[4]
    assert "apple banana" in body[5] and "alice" in body[5] and "$0.0001 " in body[5] and " 15 " in body[5]
    assert "\x1b[" not in result.output  # no colours when not on a terminal


@pytest.mark.parametrize("args,expected", [
    (["--model", "gpt-4o-mini"], ["e4", "e3", "e0"]),
    (["--status", "error", "--status", "timeout"], ["e4", "e2", "e1"]),
    (["--failed-only", "--user-id", "alice,carol"], ["e3", "e2"]),
    (["--since", "10d", "--user-id", "alice"], ["e2", "e0", "e5"]),
    (["--stream"], ["e2", "e1"]),
    (["--no-stream", "--root-only", "-n", "2"], ["e6", "e4"]),
    (["--search", "banana"], ["e3", "e0"]),
    (["--tag", "b", "--sort-by", "cost", "--sort-order", "asc"], ["e2", "e1"]),
    (["--min-cost", "0.00005", "--max-tokens", "15"], ["e3", "e0"]),
])
def test_logs_filters_match_the_api(db_path, seeded, args, expected):
    names = {v: k for k, v in seeded.items()}
    result = run("logs", "--db", db_path, "--jsonl", *args)
    assert result.exit_code == 0, result.output
    got = [names[orjson.loads(line)["id"]] for line in result.output.splitlines()]
    assert got == expected


async def test_logs_json_equals_the_api_json_for_the_same_filters(make_proxy, db_path, seeded):
    client = await make_proxy()
    cases = [
        ([], {}),
        (["--model", "gpt-4o-mini", "--sort-by", "latency", "-n", "2"],
         {"model": "gpt-4o-mini", "sort_by": "latency", "limit": "2"}),
        (["--since", "10d", "--tags", "a,b"], {"start_date": "-10d", "tags": "a,b"}),
    ]
    for args, params in cases:
        api = await (await client.get("/v1/logs", params=params)).json()
        result = run("logs", "--db", db_path, "--json", *args)
        assert result.exit_code == 0, result.output
        assert orjson.loads(result.output) == api
        assert api["logs"]  # compared something real


def test_logs_bad_filter_is_a_usage_error_naming_the_option(db_path, seeded):
    result = CliRunner().invoke(cli.main, ["logs", "--db", db_path, "--min-cost", "cheap"])
    assert result.exit_code == 2
    assert "--min-cost" in result.output  # run() lets an uncaught exception through: this was none
    result = CliRunner().invoke(cli.main, ["logs", "--db", db_path, "--status", "fine"])
    assert result.exit_code == 2 and "--status" in result.output


@pytest.mark.parametrize(("args", "line"), [
    (["--limit", "-1"], "Error: --limit must be an integer from 1 to 1000, got '-1'"),
    (["--since", "bad"], "Error: --since must be an ISO 8601 time or relative like -24h, got 'bad'"),
    (["--until", "bad"], "Error: --until must be an ISO 8601 time or relative like -24h, got 'bad'"),
])
def test_a_bad_option_is_named_once_as_the_cli_spells_it(db_path, seeded, args, line):
    result = CliRunner().invoke(cli.main, ["logs", "--db", db_path, *args])
    assert result.exit_code == 2 and result.output.splitlines()[-1] == line


def test_logs_on_an_empty_or_missing_database(tmp_path, db_path):
    open_store(db_path).close()  # created, and empty
    result = run("logs", "--db", db_path)
    assert result.exit_code == 0 and result.output.strip() == "no calls logged yet"
    result = run("logs")  # nothing configured and nothing at the default place yet
    assert result.exit_code == 0 and result.output.startswith("no calls logged yet (no database at")
    missing = str(tmp_path / "typo.db")
    result = CliRunner().invoke(cli.main, ["logs", "--db", missing])
    assert result.exit_code == 1 and f"no llmlog database at {missing}" in result.output
    result = CliRunner().invoke(cli.main, ["logs"], env={"LLMLOG_DB": missing})
    assert result.exit_code == 1 and "no llmlog database" in result.output


def test_db_location_from_env_and_config_file(tmp_path, db_path, seeded):
    result = run("logs", "--jsonl", env={"LLMLOG_DB": db_path})
    assert len(result.output.splitlines()) == 6
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[store]\npath = "{db_path}"\n')
    result = run("logs", "--jsonl", "--config", str(config))
    assert len(result.output.splitlines()) == 6


def test_logs_no_match(db_path, seeded):
    result = run("logs", "--db", db_path, "--user-id", "nobody")
    assert result.exit_code == 0 and result.output.strip() == "no calls match these filters"


async def test_show_pretty_and_json_equal_the_api(proxy, db_path):
    resp = await proxy.post("/v1/chat/completions", json={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "show me the details"}]},
        headers={"x-llmlog-user": "dora", "x-llmlog-tags": "demo"})
    call_id = resp.headers["x-llmlog-id"]
    await flushed(proxy)
    api = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    result = run("show", call_id, "--db", db_path, "--json")
    assert orjson.loads(result.output) == api
    result = run("show", call_id, "--db", db_path)
    assert result.exit_code == 0
    text = result.output
    assert call_id in text and "gpt-4o-mini-2024-07-18" in text and "dora" in text
    assert f"input_tokens         {api['input_tokens']}" in text
    assert "── prompt\nshow me the details" in text
    assert "── output\nEcho: show me the details" in text
    assert '"content": "show me the details"' in text  # request body pretty-printed
    result = CliRunner().invoke(cli.main, ["show", "NOPE", "--db", db_path])
    assert result.exit_code == 1 and "no log entry with id 'NOPE'" in result.output


def test_delete_user_and_prune(db_path, seeded):
    result = run("delete-user", "alice", "--db", db_path)
    assert result.exit_code == 0 and result.output.strip() == "deleted 3 calls of user 'alice'"
    result = run("logs", "--db", db_path, "--since", "30d", "--jsonl")
    assert {orjson.loads(line)["user_id"] for line in result.output.splitlines()} == {"bob", "carol", None}
    now = int(time.time() * 1000)
    seed(db_path, [make_entry(now - 40 * 86_400_000, prompt="ancient"),
                   make_entry(now - 20 * 86_400_000, prompt="older")])
    result = run("prune", "--older-than", "30d", "--db", db_path)
    assert result.output.strip() == "deleted 1 calls older than 30d"
    result = run("prune", "--older-than", "2h", "--content-only", "--db", db_path)
    # e0/e2/e5 went with alice; left with content older than 2h: the 20-day one only
    assert result.output.strip() == "dropped the content of 1 calls older than 2h"
    result = run("prune", "--older-than", "30m", "--content-only", "--db", db_path)
    assert result.output.strip() == "dropped the content of 3 calls older than 30m"  # e1, e3, e6
    result = CliRunner().invoke(cli.main, ["prune", "--older-than", "soon", "--db", db_path])
    assert result.exit_code == 2 and "--older-than" in result.output


def test_tiny_priced_costs_are_shown_exactly_in_every_command(db_path):
    now = int(time.time() * 1000)
    tiny = make_entry(now - 3000, model="text-embedding-3-small", path="/v1/embeddings", input_tokens=5,
                      output_tokens=0, total_tokens=5, cost_micros=0, cost_nanos=100)
    small = make_entry(now - 2000, model="gpt-4o-mini", cost_micros=12, cost_nanos=12_300)
    free = make_entry(now - 1000, model="my-local-model", priced=0, cost_micros=None, cost_nanos=None)
    seed(db_path, [tiny, small, free])
    logs = run("logs", "--db", db_path).stdout
    assert "$0.0000001 " in logs and "$0.0000123 " in logs and "unpriced" in logs and "$0.000000 " not in logs
    show = run("show", tiny.call["id"], "--db", db_path).stdout
    assert any(line.split() == ["cost_usd", "$0.0000001"] for line in show.splitlines())
    assert any(line.split() == ["cost_usd", "unpriced"]
               for line in run("show", free.call["id"], "--db", db_path).stdout.splitlines())
    summary = run("summary", "--db", db_path, "--since", "1h").stdout
    assert "$0.0000124 (avg $0.0000062 per priced call, 1 unpriced)" in summary
    assert any(line.split()[:4] == ["text-embedding-3-small", "1", "33.3%", "$0.0000001"]
               for line in summary.splitlines())
    stats = run("stats", "--db", db_path, "--group-by", "model", "--since", "1h").stdout
    assert any(line.split()[:5] == ["gpt-4o-mini", "1", "0", "15", "$0.0000123"] for line in stats.splitlines())
    assert any(line.split()[:5] == ["total", "3", "0", "35", "$0.0000124"] for line in stats.splitlines())


# A client controls every text llmlog stores (prompt, output, model, user, tags, bodies); printed raw,
# `\x1b]0;...\x07` retitles the terminal, CSI sequences (ESC [ or C1 \x9b) clear or recolour it, and
# U+202E makes a line read backwards. The CLI shows all of these escaped; JSON stays the same JSON.
HOSTILE = "look\x1b]0;OWNED\x07 here \u202eevil\u202c \u2066iso\u2069 \x9b31m red\x7f \x01 end"
RAW_CONTROLS = ["\x1b", "\x07", "\u202e", "\u202c", "\u2066", "\u2069", "\x9b", "\x7f", "\x01"]


def _hostile_entry():
    now = int(time.time() * 1000)
    return make_entry(now - 1000, prompt=HOSTILE + "\nsecond line\tafter a tab\r\nthird", model="gpt\u202e-4o",
                      output="answer\x1b[2J\x1b]8;;http://evil.example\x07link", user_id="eve\x1b[31m",
                      tags=("t\x07ag",), error="bad\x1b]0;T\x07 error")


def test_text_from_the_store_reaches_the_terminal_escaped(db_path):
    entry = _hostile_entry()
    seed(db_path, [entry])
    table = run("logs", "--db", db_path, env={"COLUMNS": "400"})
    shown = run("show", entry.call["id"], "--db", db_path)
    stats = run("stats", "--db", db_path, "--group-by", "model", "--since", "1h")
    for result in (table, shown, stats):
        assert result.exit_code == 0, result.output
        assert not [c for c in RAW_CONTROLS if c in result.output], repr(result.output)
    row = table.stdout.splitlines()[1]
    assert "look\\x1b]0;OWNED\\x07 here \\u202eevil\\u202c \\u2066iso\\u2069 \\x9b31m red\\x7f \\x01 end" in row
    assert "gpt\\u202e-4o" in row and "eve\\x1b[31m" in row
    assert "gpt\\u202e-4o" in stats.stdout
    text = shown.stdout
    # multi-line text keeps its lines and tabs; a CRLF is one line break, every other control is escaped
    assert "── prompt\n" + HOSTILE.translate({0x1b: "\\x1b", 0x07: "\\x07", 0x202e: "\\u202e", 0x202c: "\\u202c",
                                             0x2066: "\\u2066", 0x2069: "\\u2069", 0x9b: "\\x9b", 0x7f: "\\x7f",
                                             0x01: "\\x01"}) + "\nsecond line\tafter a tab\nthird" in text
    assert "── output\nanswer\\x1b[2J\\x1b]8;;http://evil.example\\x07link" in text
    assert "eve\\x1b[31m" in text and "t\\x07ag" in text and "bad\\x1b]0;T\\x07 error" in text
    assert "gpt\\u202e-4o" in text
    assert "\\u202eevil" in text.split("── request body")[1]  # the body, pretty-printed JSON, too


def test_json_output_is_the_same_json_with_no_raw_control_characters(db_path):
    entry = _hostile_entry()
    seed(db_path, [entry])
    page = run("logs", "--db", db_path, "--json")
    lines = run("logs", "--db", db_path, "--jsonl")
    one = run("show", entry.call["id"], "--db", db_path, "--json")
    for result in (page, lines, one):
        assert not [c for c in RAW_CONTROLS if c in result.output], repr(result.output)
    assert orjson.loads(page.output)["logs"][0]["prompt"]["text"].startswith(HOSTILE)
    assert orjson.loads(lines.output)["model"] == "gpt\u202e-4o"
    shown = orjson.loads(one.output)
    assert shown["prompt"]["text"].startswith(HOSTILE) and shown["user_id"] == "eve\x1b[31m"
    assert shown["output"]["text"] == "answer\x1b[2J\x1b]8;;http://evil.example\x07link"


@pytest.mark.parametrize("prompt, shown", [
    ("p" * 150, "p" * 119 + "…"),  # cut by the table: it says so
    ("q" * 120, "q" * 120),  # fits whole
    ("r" * 119 + " \n ", "r" * 119),  # spaces collapsed and trimmed: nothing cut
    ("s" + " " * 250 + "t", "s…"),  # the list's preview (200) ended before the prompt did
    ("u" * 300, "u" * 119 + "…"),
])
def test_the_table_shows_where_it_cut_a_prompt(db_path, prompt, shown):
    now = int(time.time() * 1000)
    seed(db_path, [make_entry(now - 1000, prompt=prompt)])
    table = run("logs", "--db", db_path, env={"COLUMNS": "400"})  # wide enough: only TABLE_PREVIEW_CHARS cuts
    row = table.stdout.splitlines()[1]
    assert row.endswith("  " + shown), row
