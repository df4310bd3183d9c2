"""The settings table, the example file and the precedence rules cannot drift apart."""

from __future__ import annotations

import re
from operator import attrgetter
from pathlib import Path

import pytest

from proxy.settings import SETTINGS, ConfigError, load_config

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
