"""Where the store is: a SQLite path or a PostgreSQL URL, from --db / LLMLOG_DB / store.url, with
any password kept out of what llmlog prints."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main
from proxy.config import ConfigError, load_config
from store.backends import printable

URL = "postgresql://llmlog:hunter2@db.internal:5432/llmlog"


def _config(tmp_path, text: str = "", env: dict | None = None, **overrides):
    path = tmp_path / "llmlog.toml"
    path.write_text(text)
    return load_config(str(path), env=env or {}, overrides=overrides)


def test_store_url_from_the_config_file_and_flags_over_it(tmp_path):
    config = _config(tmp_path, f'[store]\nurl = "{URL}"\n')
    assert config.db_path == URL
    assert _config(tmp_path, f'[store]\nurl = "{URL}"\n', env={"LLMLOG_DB": "/tmp/x.db"}).db_path == "/tmp/x.db"
    assert _config(tmp_path, f'[store]\nurl = "{URL}"\n', **{"store.path": "/tmp/y.db"}).db_path == "/tmp/y.db"
    assert _config(tmp_path, env={"LLMLOG_DB": URL}).db_path == URL


@pytest.mark.parametrize("text, words", [
    (f'[store]\nurl = "{URL}"\npath = "/tmp/a.db"\n', "both store.path and store.url"),
    ('[store]\nurl = "mysql://root:pw@h/db"\n', "must be a postgresql:// URL"),
    ('[store]\npath = "sqlite+aiosqlite://x"\n', "is not a store llmlog knows"),
])
def test_a_store_location_that_cannot_be_meant_is_a_config_error(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words) as caught:
        _config(tmp_path, text)
    assert "pw" not in str(caught.value)


def test_the_password_is_never_printed():
    assert printable(URL) == "postgresql://llmlog:***@db.internal:5432/llmlog"
    assert "s3cret" not in printable("postgresql://u@h/db?sslmode=require&password=s3cret")
    assert printable("/var/lib/llmlog.db") == "/var/lib/llmlog.db"


def test_the_spill_file_of_a_postgres_store_is_local_and_named_after_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    spill = _config(tmp_path, f'[store]\nurl = "{URL}"\n').spill_path
    assert spill.startswith(str(tmp_path / "llmlog")) and spill.endswith(".spill")
    assert "hunter2" not in spill and "db.internal" in spill
    assert _config(tmp_path, f'[store]\nurl = "{URL}"\nspill_path = "/tmp/s.spill"\n').spill_path == "/tmp/s.spill"


def test_cli_errors_about_an_unreachable_postgres_hide_the_password(tmp_path):
    # nothing listens on port 9 of loopback: the connection is refused at once
    result = CliRunner().invoke(main, ["logs", "--db", "postgresql://llmlog:hunter2@127.0.0.1:9/llmlog"])
    assert result.exit_code == 1 and "hunter2" not in result.output
    assert "127.0.0.1" in result.output and len(result.output.strip().splitlines()) == 1
