"""The settings table, the example file and the precedence rules cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proxy.config import SETTINGS, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_example_file_loads_and_documents_every_setting():
    config = load_config(EXAMPLE, env={})
    text = EXAMPLE.read_text()
    for setting in SETTINGS:
        section, name = setting.key.split(".")
        assert f"[{section}]" in text, section
        assert re.search(rf"^#?\s*{name}\s*=", text, re.M), setting.key
        if setting.default is not None:
            assert config[setting.key] == setting.default, setting.key
    assert [p.name for p in config.providers] == ["openai", "anthropic"]
    assert config.providers[1].prefix == "/anthropic" and config.providers[1].format == "anthropic"


def test_precedence_flag_over_env_over_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 1111\n[store]\nbatch_size = 7\n")
    assert load_config(path, env={})["server.port"] == 1111
    assert load_config(path, env={"LLMLOG_PORT": "2222"})["server.port"] == 2222
    assert load_config(path, env={"LLMLOG_PORT": "2222"}, overrides={"server.port": 3333})["server.port"] == 3333
    assert load_config(path, env={})["store.batch_size"] == 7


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
])
def test_bad_config_names_the_problem(tmp_path, text, fragment):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(path, env={})


def test_upstream_flag_replaces_default_provider():
    config = load_config(None, env={}, upstream="http://127.0.0.1:8000/")
    assert [(p.prefix, p.base_url) for p in config.providers] == [("/", "http://127.0.0.1:8000")]


@pytest.mark.parametrize("url", ["localhost:8000", "http://", "http://127.0.0.1:8000?debug=1"])
def test_an_unusable_upstream_flag_is_refused_at_start(url):
    with pytest.raises(ConfigError, match="--upstream"):
        load_config(None, env={}, upstream=url)
