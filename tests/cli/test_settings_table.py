"""What the settings table generates: the frozen Settings, `serve`'s flags, docs/settings.md, and
config.example.toml's keys (commented or not) cannot drift from it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from operator import attrgetter
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmlog.cli import main
from llmlog.pricing.prices.rates import ENTRY_KEYS
from llmlog.proxy.cli.flags import flag_help, overrides
from llmlog.proxy.cli.serve import serve
from llmlog.proxy.settings import BY_KEY, PROVIDER_KEYS, SETTINGS, Settings, load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
DOCS = ROOT / "docs" / "settings.md"
REGENERATE = "python -m llmlog.proxy.settings --markdown > docs/settings.md"


def test_settings_are_frozen_and_typed_by_the_table():
    settings = load_config(None, env={})
    assert settings == Settings()  # nothing set: every default of the table
    for row in SETTINGS:
        value = attrgetter(row.key)(settings)
        assert value == row.default, row.key
        assert value is None or isinstance(value, row.type), row.key
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.providers = ()  # type: ignore[misc]
    assert isinstance(settings.logs_api.api_keys, tuple) and isinstance(settings.providers, tuple)


def test_every_variable_of_the_table_is_read(tmp_path):
    """Each row's variable reaches its setting (precedence itself: test_settings.py)."""
    samples = {bool: ("true", True), int: ("7", 7), float: ("2.5", 2.5), tuple: ("a, b", ("a", "b"))}
    key_file = tmp_path / "content.key"  # the key settings are read at load: they must name a key
    key_file.write_text("ab" * 32)
    key_file.chmod(0o600)
    extra = {"privacy.encryption_key_env": {"x": "ab" * 32}}
    for row in SETTINGS:
        if not row.env:
            continue
        text, want = samples.get(row.type, ("/tmp/x.db" if row.key == "store.path" else "x", None))
        if row.choices:
            text, want = row.choices[-1], None
            if row.type is tuple:  # a list of words: any of them, each checked
                text, want = f"{row.choices[0]}, {row.choices[-1]}", (row.choices[0], row.choices[-1])
        if row.key == "server.trusted_proxies":  # checked at load: addresses and networks only
            text, want = "10.0.0.1, 10.0.0.0/8", ("10.0.0.1", "10.0.0.0/8")
        if row.key == "privacy.encryption_key_file":
            text = str(key_file)
        got = attrgetter(row.key)(load_config(None, env={row.env: text, **extra.get(row.key, {})}))
        assert got == (text if want is None else want), row.key


def test_docs_table_is_current():
    generated = subprocess.run([sys.executable, "-m", "llmlog.proxy.settings", "--markdown"], capture_output=True,
                               text=True, check=True, cwd=ROOT).stdout
    assert DOCS.read_text() == generated, f"docs/settings.md is stale; regenerate it: {REGENERATE}"
    for row in SETTINGS:
        assert f"`{row.key}`" in generated and (not row.env or f"`{row.env}`" in generated), row.key


def _example_keys() -> set[str]:
    """Every `name = value` line of the example file, commented out or not, as section.name; a
    `[[providers]]` key is `providers.name`, a price override's `pricing.models.*.name`."""
    keys, section = set(), ""
    for line in EXAMPLE.read_text().splitlines():
        line = re.sub(r"^#\s?", "", line.strip())
        header = re.match(r"^\[\[?([^\]]+)\]\]?\s*$", line)
        if header:
            section = re.sub(r'^pricing\.models\..*', "pricing.models.*", header.group(1))
            continue
        key = re.match(r"^([a-z_]+)\s*=\s*\S", line)
        if key:
            keys.add(f"{section}.{key.group(1)}")
    return keys


def test_example_file_names_every_setting_and_only_settings():
    documented = _example_keys()
    table = set(BY_KEY)
    extra = {f"providers.{k}" for k in PROVIDER_KEYS} | {f"pricing.models.*.{k}" for k in ENTRY_KEYS}
    assert table - documented == set(), "settings missing from config.example.toml"
    assert documented - table - extra == set(), "keys in config.example.toml that no setting has"
    assert {k for k in documented if k.startswith("providers.")} == {f"providers.{k}" for k in PROVIDER_KEYS}


def _help_text(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_serve_flags_come_from_the_table():
    text = _help_text(["serve", "--help"])
    flagged = [row for row in SETTINGS if row.flag]
    assert {row.flag for row in flagged} == {"--db", "--host", "--port", "--insecure", "--workers"}
    for row in flagged:
        assert f"{row.flag} " in text and flag_help(row) in text, row.key
    # what `serve --help` said before the flags were generated is all still there
    for phrase in ["--config FILE", "[env: LLMLOG_CONFIG]", "--db FILE|URL",
                   "SQLite database file, or a postgresql:// URL for a store shared by several replicas",
                   "default: ~/.local/share/llmlog/llmlog.db", "env: LLMLOG_DB", "--host TEXT",
                   "Address to listen on [default: 127.0.0.1; env: LLMLOG_HOST].", "--port INTEGER",
                   "Port to listen on (0: any free port, the one chosen is printed at start) "
                   "[default: 8080; env: LLMLOG_PORT].", "--upstream TEXT",
                   "Base URL of the default provider, e.g. http://127.0.0.1:8000 for vLLM", "--insecure",
                   "a non-loopback address without a logs API key"]:
        assert phrase in text, phrase
    assert "--db FILE|URL" in _help_text(["logs", "--help"])  # the shared --db is the same row


def test_serve_flags_reach_the_settings(tmp_path):
    db = str(tmp_path / "flags.db")
    ctx = serve.make_context("serve", ["--db", db, "--host", "0.0.0.0", "--port", "9999", "--insecure"])
    settings = load_config(None, env={"LLMLOG_PORT": "1111", "LLMLOG_INSECURE": "off"}, overrides=overrides(ctx.params))
    assert (settings.store.path, settings.server.host, settings.server.port, settings.server.insecure) == (
        db, "0.0.0.0", 9999, True)
    ctx = serve.make_context("serve", [])  # no flag given: the variables win
    settings = load_config(None, env={"LLMLOG_PORT": "1111", "LLMLOG_INSECURE": "off"}, overrides=overrides(ctx.params))
    assert (settings.server.port, settings.server.insecure) == (1111, False)


def test_serve_reads_a_flag_through_the_command_line(tmp_path):
    """The generated --host reaches serve's own check (which stops before listening)."""
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "x.db"), "--host", "0.0.0.0"],
                                env={"LLMLOG_ADMIN_KEY": "", "LLMLOG_INSECURE": ""})
    assert result.exit_code != 0
    assert "refusing to listen on 0.0.0.0 with no logs API key" in result.output
