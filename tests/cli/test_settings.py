"""The settings table, the example file and the precedence rules cannot drift apart."""

from __future__ import annotations

import re
from operator import attrgetter
from pathlib import Path

import pytest

from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.cli.flags import overrides
from llmlog.proxy.cli.serve import serve
from llmlog.proxy.pipeline.prices import price_table_for
from llmlog.proxy.settings import SETTINGS, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_file_loads_and_documents_every_setting():
    config = load_config(EXAMPLE, env={})
    text = EXAMPLE.read_text()
    for setting in SETTINGS:
        section, name = setting.key.split(".")
        assert f"[{section}]" in text, section
        assert re.search(rf"^#?\s*{name}\s*=", text, re.M), setting.key
        if setting.default is not None:
            assert attrgetter(setting.key)(config) == setting.default, setting.key
    assert [p.name for p in config.providers] == ["openai", "anthropic"]
    assert config.providers[1].prefix == "/anthropic" and config.providers[1].format == "anthropic"


def test_precedence_flag_over_env_over_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 1111\n[store]\nbatch_size = 7\n")
    assert load_config(path, env={}).server.port == 1111
    assert load_config(path, env={"LLMLOG_PORT": "2222"}).server.port == 2222
    assert load_config(path, env={"LLMLOG_PORT": "2222"}, overrides={"server.port": 3333}).server.port == 3333
    assert load_config(path, env={}).store.batch_size == 7


@pytest.mark.parametrize("text, fragment", [
    ("[server]\nprot = 1\n", "unknown config key"),
    ("[server]\nport = 'abc'\n", "server.port"),
    ("[[providers]]\nname = 'x'\n", "base_url"),
    ("[[providers]]\nname = 'x'\nbase_url = 'http://a'\nformat = 'grpc'\n", "format"),
    ("not toml [", "not valid TOML"),
    ("[[providers]]\nname = 'x'\nbase_url = 'ftp://a'\n", "must be http"),
    ("[[providers]]\nname = 'x'\nbase_url = 'api.openai.com'\n", "must be http"),
    ("[[providers]]\nname = 'x'\nbase_url = 'https://u:secret@a'\n", "credentials"),
    ("[[providers]]\nname = 'x'\nbase_url = 'https://a:99999'\n", "not a valid URL"),
    ("[[providers]]\nname = 'x'\nbase_url = 'https://a/v1?x=1'\n", "query"),
    ("[upstream]\nclient = 'curl'\n", "upstream.client from .*: expected one of 'llmlog', 'aiohttp', got 'curl'"),
    ("[upstream]\nclient = 1\n", "upstream.client from .*: expected one of 'llmlog', 'aiohttp', got 1"),
])
def test_bad_config_names_the_problem(tmp_path, text, fragment):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(path, env={})


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe[server]\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path, env={})


@pytest.mark.parametrize("url", ["http://\u00e9\u00e9..x/", "http://" + "a" * 64 + ".example/"])
def test_a_base_url_whose_host_has_no_ascii_form_is_refused_at_start(tmp_path, url):
    path = tmp_path / "c.toml"
    path.write_text(f"[[providers]]\nname = 'x'\nbase_url = '{url}'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no valid domain name"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="no valid domain name"):
        load_config(None, env={"LLMLOG_UPSTREAM": url})


def test_upstream_flag_replaces_default_provider():
    config = load_config(None, env={}, upstream="http://127.0.0.1:8000/")
    assert [(p.prefix, p.base_url) for p in config.providers] == [("/", "http://127.0.0.1:8000")]


def test_stream_usage_injection_defaults():
    """DESIGN §5: OpenAI streams get exact usage by default; a provider from a config file keeps the
    documented default (off) unless it sets it; the example file sets it for OpenAI, as it says."""
    built_in = load_config(None, env={}).providers
    assert [(p.name, p.base_url, p.inject_stream_usage) for p in built_in] == [
        ("openai", "https://api.openai.com", True)]
    # the built-in provider pointed at another server: that server may reject the extra field
    assert load_config(None, env={}, upstream="http://127.0.0.1:8000").providers[0].inject_stream_usage is False
    example = load_config(EXAMPLE, env={}).providers
    assert [(p.name, p.inject_stream_usage) for p in example] == [("openai", True), ("anthropic", False)]
    assert load_config(EXAMPLE, env={}, upstream="http://127.0.0.1:8000").providers[0].inject_stream_usage


def test_a_config_file_provider_injects_stream_usage_only_when_set(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[[providers]]\nname = 'openai'\nbase_url = 'https://api.openai.com'\n")
    assert load_config(path, env={}).providers[0].inject_stream_usage is False
    path.write_text("[[providers]]\nname = 'openai'\nbase_url = 'https://api.openai.com'\n"
                    "inject_stream_usage = true\n")
    assert load_config(path, env={}).providers[0].inject_stream_usage is True


@pytest.mark.parametrize("url", ["localhost:8000", "http://", "http://127.0.0.1:8000?debug=1"])
def test_an_unusable_upstream_flag_is_refused_at_start(url):
    with pytest.raises(ConfigError, match="--upstream"):
        load_config(None, env={}, upstream=url)


def test_the_upstream_client_is_chosen_by_config_or_environment(tmp_path):
    assert load_config(None, env={}).upstream.client == "llmlog"
    assert load_config(None, env={"LLMLOG_UPSTREAM_CLIENT": "aiohttp"}).upstream.client == "aiohttp"
    with pytest.raises(ConfigError) as raised:
        load_config(None, env={"LLMLOG_UPSTREAM_CLIENT": "httpx"})
    assert str(raised.value) == ("upstream.client from LLMLOG_UPSTREAM_CLIENT: expected one of 'llmlog', 'aiohttp', "
                                 "got 'httpx'")


# -- every value is checked against the table: type, range, finiteness --------------------------------

@pytest.mark.parametrize("text, message", [
    # a size of 0 made the pipeline loop for ever taking nothing (`_overflow[:0]`), losing the calls
    ("[store]\nbatch_size = 0\n", "store.batch_size from {path}: expected an integer of at least 1, got 0"),
    ("[store]\nqueue_size = 0\n", "store.queue_size from {path}: expected an integer of at least 1, got 0"),
    ("[store]\nhold_size = -1\n", "store.hold_size from {path}: expected an integer of at least 0, got -1"),
    ("[store]\nbatch_interval_ms = 0\n",
     "store.batch_interval_ms from {path}: expected an integer from 1 to 3600000, got 0"),
    ("[store]\nwriter_nice = 20\n", "store.writer_nice from {path}: expected an integer from 0 to 19, got 20"),
    ("[store]\nretention_days = 99999999999999\n",
     "store.retention_days from {path}: expected an integer from 0 to 1000000, got 99999999999999"),
    # connect_timeout_s = 0 made every call a 504 (llmlog's client) or meant no limit (aiohttp's)
    ("[upstream]\nconnect_timeout_s = 0\n",
     "upstream.connect_timeout_s from {path}: expected a finite number of at least 0.001, got 0"),
    ("[upstream]\nread_timeout_s = -1.5\n",
     "upstream.read_timeout_s from {path}: expected a finite number of at least 0, got -1.5"),
    # nan passed every check (comparisons with nan are false) and timed a silent call out at once
    ("[upstream]\nread_timeout_s = nan\n",
     "upstream.read_timeout_s from {path}: expected a finite number of at least 0, got nan"),
    ("[upstream]\nread_timeout_s = inf\n",
     "upstream.read_timeout_s from {path}: expected a finite number of at least 0, got inf"),
    ("[server]\nshutdown_grace_s = -inf\n",
     "server.shutdown_grace_s from {path}: expected a finite number of at least 0, got -inf"),
    ("[upstream]\nread_timeout_s = 1" + "0" * 400 + "\n", "upstream.read_timeout_s from {path}: expected a finite"),
    # an int setting given a float was cut (8080.9 became 8080)
    ("[server]\nport = 8080.9\n", "server.port from {path}: expected an integer from 0 to 65535, got 8080.9"),
    ("[server]\nport = 8080.0\n", "server.port from {path}: expected an integer from 0 to 65535, got 8080.0"),
    ("[server]\nport = 65536\n", "server.port from {path}: expected an integer from 0 to 65535, got 65536"),
    ("[server]\nport = true\n", "server.port from {path}: expected an integer from 0 to 65535, got True"),
    # a str setting given another TOML type became its repr ("['a']")
    ("[server]\nhost = [\"a\"]\n", "server.host from {path}: expected a string, got ['a']"),
    ("[store]\nspill_path = 5\n", "store.spill_path from {path}: expected a string, got 5"),
    ("[server]\nallowed_hosts = [1, 2]\n", "server.allowed_hosts from {path}: expected a list of strings, got [1, 2]"),
    ("[server]\ninsecure = 1\n",
     "server.insecure from {path}: expected bool (true/false, 1/0, yes/no, on/off), got 1"),
])
def test_a_value_outside_its_type_or_range_is_one_line_naming_key_range_and_origin(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert str(raised.value).startswith(message.format(path=path)), str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("variable, text, message", [
    ("LLMLOG_PORT", "٨٠٨٠", "server.port from LLMLOG_PORT: expected an integer from 0 to 65535, got '٨٠٨٠'"),
    ("LLMLOG_PORT", "8080.9", "server.port from LLMLOG_PORT: expected an integer from 0 to 65535, got '8080.9'"),
    ("LLMLOG_PORT", "8_080", "server.port from LLMLOG_PORT: expected an integer from 0 to 65535, got '8_080'"),
    ("LLMLOG_PORT", "0x50", "server.port from LLMLOG_PORT: expected an integer from 0 to 65535, got '0x50'"),
    ("LLMLOG_MAX_REQUEST_BYTES", "0",
     "server.max_request_bytes from LLMLOG_MAX_REQUEST_BYTES: expected an integer of at least 1, got '0'"),
    ("LLMLOG_READ_TIMEOUT", "nan",
     "upstream.read_timeout_s from LLMLOG_READ_TIMEOUT: expected a finite number of at least 0, got 'nan'"),
    ("LLMLOG_READ_TIMEOUT", "Infinity",
     "upstream.read_timeout_s from LLMLOG_READ_TIMEOUT: expected a finite number of at least 0, got 'Infinity'"),
    ("LLMLOG_READ_TIMEOUT", "1e999",
     "upstream.read_timeout_s from LLMLOG_READ_TIMEOUT: expected a finite number of at least 0, got '1e999'"),
    ("LLMLOG_READ_TIMEOUT", "٣",
     "upstream.read_timeout_s from LLMLOG_READ_TIMEOUT: expected a finite number of at least 0, got '٣'"),
    ("LLMLOG_PRICE_REFRESH_HOURS", "-1",
     "pricing.refresh_hours from LLMLOG_PRICE_REFRESH_HOURS: expected a finite number of at least 0, got '-1'"),
])
def test_a_variable_is_read_as_ascii_digits_and_checked_the_same_way(variable, text, message):
    with pytest.raises(ConfigError) as raised:
        load_config(None, env={variable: text})
    assert str(raised.value) == message


def test_numbers_in_range_are_read_from_every_origin(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[store]\nbatch_size = 1\nqueue_size = 1\nhold_size = 0\nbatch_interval_ms = 1\n"
                    "[upstream]\nconnect_timeout_s = 3\nread_timeout_s = 0\n[server]\nport = 65535\n")
    config = load_config(path, env={"LLMLOG_READ_TIMEOUT": " 2.5 "})
    assert (config.store.batch_size, config.store.queue_size, config.store.hold_size,
            config.store.batch_interval_ms) == (1, 1, 0, 1)
    assert config.upstream.connect_timeout_s == 3.0 and isinstance(config.upstream.connect_timeout_s, float)
    assert config.upstream.read_timeout_s == 2.5 and config.server.port == 65535
    assert load_config(path, env={}).upstream.read_timeout_s == 0  # 0: no limit, as always
    assert load_config(None, env={"LLMLOG_PORT": "0"}).server.port == 0  # any free port (see test_serve_startup)
    assert load_config(None, env={"LLMLOG_READ_TIMEOUT": "1e3"}).upstream.read_timeout_s == 1000.0


def test_every_number_in_the_table_has_its_range_and_both_ends_are_enforced():
    numbers = [row for row in SETTINGS if row.type in (int, float)]
    assert {row.key for row in numbers} >= {"store.batch_size", "store.queue_size", "server.port"}
    for row in numbers:
        assert row.at_least is not None, row.key
        assert row.at_least <= row.default and (row.at_most is None or row.default <= row.at_most), row.key
        override = {row.key: row.at_least}
        assert attrgetter(row.key)(load_config(None, env={}, overrides=override)) == row.at_least, row.key
        below = row.at_least - (0.001 if row.type is float else 1)
        with pytest.raises(ConfigError, match=rf"^{re.escape(row.key)} from .*: expected .*{row.allowed}"):
            load_config(None, env={}, overrides={row.key: below})
        if row.at_most is not None:
            with pytest.raises(ConfigError, match=re.escape(row.key)):
                load_config(None, env={}, overrides={row.key: row.at_most + 1})


def test_a_flag_is_read_like_a_variable():
    for given in ("٨٠٨٠", "8080.9"):
        ctx = serve.make_context("serve", ["--port", given])  # click no longer reads it (int() takes "٨٠٨٠")
        with pytest.raises(ConfigError) as raised:
            load_config(None, env={}, overrides=overrides(ctx.params))
        assert str(raised.value) == f"server.port from --port: expected an integer from 0 to 65535, got '{given}'"
    ctx = serve.make_context("serve", ["--port", "8081"])
    assert load_config(None, env={}, overrides=overrides(ctx.params)).server.port == 8081


# -- providers: tables only, strings where strings go, the one boolean vocabulary ------------------------

@pytest.mark.parametrize("text, message", [
    ('providers = [1]\n', "{path}: providers[0] must be a table ([[providers]] with name = ... and base_url = ...), "
                          "got an integer"),
    ('providers = "x"\n', "{path}: providers must be an array of tables ([[providers]]), got a string"),
    ('[providers]\nname = "x"\n', "{path}: providers must be an array of tables ([[providers]]), got a table"),
    ('providers = [{name = "a", base_url = "http://a"}, "b"]\n', "{path}: providers[1] must be a table"),
    ("[[providers]]\nname = 'x'\nbase_url = 'http://a'\ninject_stream_usage = 'maybe'\n",
     "providers[0]: inject_stream_usage must be a bool (true/false, 1/0, yes/no, on/off), got 'maybe'"),
    ("[[providers]]\nname = 'x'\nbase_url = 'http://a'\ninject_stream_usage = 1\n",
     "providers[0]: inject_stream_usage must be a bool (true/false, 1/0, yes/no, on/off), got 1"),
    ("[[providers]]\nname = 1\nbase_url = 'http://a'\n", "providers[0]: name must be a string, got an integer (1)"),
    ("[[providers]]\nname = 'x'\nbase_url = 'http://a'\nprefix = ['/a']\n",
     "providers[0]: prefix must be a string, got an array (['/a'])"),
    ("[[providers]]\nname = 'x'\nbase_url = 'http://a'\napi_key_env = true\n",
     "providers[0]: api_key_env must be a string, got a boolean (True)"),
])
def test_a_provider_that_is_not_a_table_of_strings_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert str(raised.value).startswith(message.format(path=path)), str(raised.value)


@pytest.mark.parametrize("value, want", [("'false'", False), ("'off'", False), ("' No '", False), ("false", False),
                                         ("'true'", True), ("'ON'", True), ("true", True)])
def test_inject_stream_usage_reads_the_settings_words(tmp_path, value, want):
    """bool("false") is True: the string "false" asked for the extra field it meant to turn off."""
    path = tmp_path / "c.toml"
    path.write_text(f"[[providers]]\nname = 'x'\nbase_url = 'http://a'\ninject_stream_usage = {value}\n")
    assert load_config(path, env={}).providers[0].inject_stream_usage is want


def test_price_overrides_are_read_only_like_every_other_setting(tmp_path):

    path = tmp_path / "c.toml"
    path.write_text('[pricing.models."my-model"]\ninput = 1.0\noutput = 2.0\naliases = ["mine"]\n'
                    '[pricing.models."my-model".tier]\nabove_input_tokens = 100\ninput = 3.0\noutput = 4.0\n')
    config = load_config(path, env={})
    with pytest.raises(TypeError):
        config.price_overrides["other"] = {"input": 1, "output": 1}  # type: ignore[index]
    with pytest.raises(TypeError):
        config.price_overrides["my-model"]["input"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        config.price_overrides["my-model"]["tier"]["input"] = 0  # type: ignore[index]
    assert config.price_overrides["my-model"]["aliases"] == ("mine",)
    with pytest.raises(TypeError):
        load_config(None, env={}).price_overrides["x"] = {}  # type: ignore[index]
    # its user reads it as before: the same prices, the same pricing version as from the plain tables
    plain = {"my-model": {"input": 1.0, "output": 2.0, "aliases": ["mine"],
                          "tier": {"above_input_tokens": 100, "input": 3.0, "output": 4.0}}}
    table = price_table_for(config)
    assert table.version == PriceTable.shipped().with_overrides(plain).version
    assert table.version != PriceTable.shipped().version


def test_api_key_names_map_a_prefix_or_a_hash_to_a_name(tmp_path):
    path = tmp_path / "c.toml"
    digest = "AB" * 32
    path.write_text(f'[api_key_names]\n"sk-proj-Ab" = "ci"\n"{digest}" = "alice laptop"\n')
    config = load_config(path, env={})
    assert dict(config.api_key_names) == {"sk-proj-Ab": "ci", digest.lower(): "alice laptop"}  # hashes as stored
    with pytest.raises(TypeError):
        config.api_key_names["x"] = "y"  # type: ignore[index]
    assert dict(load_config(None, env={}).api_key_names) == {}
    for bad in ('api_key_names = "ci"\n', '[api_key_names]\n"sk-x" = 3\n', '[api_key_names]\n"sk-x" = " "\n'):
        path.write_text(bad)
        with pytest.raises(ConfigError, match=r"\[api_key_names\] maps a key's prefix or SHA-256 hash to a name"):
            load_config(path, env={})
    path.write_text('[api_key_names]\n"sk-proj-Ab12" = "ci"\n')  # entries show at most 10 characters of a key
    with pytest.raises(ConfigError, match=r"'sk-proj-Ab12' is neither a key's prefix as entries show it"):
        load_config(path, env={})
