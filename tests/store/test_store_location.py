"""Where the store is: a SQLite path or a PostgreSQL URL, from --db / LLMLOG_DB / store.url, with
any password kept out of what llmlog prints."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from llmlog.cli import main
from llmlog.proxy.settings import ConfigError, load_config
from llmlog.store.backends import printable

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
    ('[store]\npath = "file:/tmp/x.db?mode=ro"\n', "looks like a URI"),
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
    other_replica = _config(tmp_path, f'[store]\nurl = "{URL}"\n', **{"server.port": 8081}).spill_path
    assert other_replica != spill  # two replicas on one machine never share a spill file
    other_address = _config(tmp_path, f'[store]\nurl = "{URL}"\n', **{"server.host": "127.0.0.2"}).spill_path
    assert other_address not in (spill, other_replica)
    assert _config(tmp_path, f'[store]\nurl = "{URL}"\nspill_path = "/tmp/s.spill"\n').spill_path == "/tmp/s.spill"


@pytest.mark.parametrize("url, secret", [
    ("postgresql://llmlog:Xy%zz9secret@127.0.0.1:9/llmlog", "zz9secret"),  # a bad escape libpq quotes
    ("postgresql://u@127.0.0.1:9/db?password=Pa55%zz", "Pa55"),
    ("postgresql://u@127.0.0.1:9/db?Password=TypoSecret1", "TypoSecret1"),  # a misspelt key, quoted back
    ("postgresql://llmlog:hunter2@[::1:9/llmlog", "hunter2"),  # an unclosed bracket
])
def test_an_unreadable_url_is_one_line_without_its_password(url, secret):
    for command in (["logs", "--db", url], ["copy-store", "--from", url, "--to", "/tmp/unused.db"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1 and secret not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_cli_errors_about_an_unreachable_postgres_hide_the_password(tmp_path):
    # nothing listens on port 9 of loopback: the connection is refused at once
    result = CliRunner().invoke(main, ["logs", "--db", "postgresql://llmlog:hunter2@127.0.0.1:9/llmlog"])
    assert result.exit_code == 1 and "hunter2" not in result.output
    assert "127.0.0.1" in result.output and len(result.output.strip().splitlines()) == 1


def test_a_postgres_database_llmlog_cannot_use_is_one_line(postgres_url, tmp_path):
    from llmlog.store.backends import open_store
    from tests.fakes.postgres_server import run_sql
    from tests.fakes.seeding import make_entry, seed
    source = str(tmp_path / "old.db")
    seed(source, [make_entry(1_700_000_000_000)])
    run_sql(postgres_url, "CREATE TABLE calls (mine integer)")  # a database already in use by something else
    taken = CliRunner().invoke(main, ["copy-store", "--from", source, "--to", postgres_url])
    assert taken.exit_code == 1 and "give llmlog a database of its own" in taken.output
    assert len(taken.output.strip().splitlines()) == 1
    assert run_sql(postgres_url, "SELECT count(*) FROM calls") == [("0",)]  # theirs, untouched
    run_sql(postgres_url, "DROP TABLE calls")
    role = "llmlog_no_create_" + postgres_url.rsplit("_", 1)[-1]
    run_sql(postgres_url, f'CREATE ROLE "{role}" LOGIN')
    run_sql(postgres_url, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # PostgreSQL 15's default, made sure
    try:
        limited = postgres_url.replace("postgres@", f"{role}@", 1)
        refused = CliRunner().invoke(main, ["copy-store", "--from", source, "--to", limited])
        assert refused.exit_code == 1 and "the user must be able to create tables" in refused.output
        assert len(refused.output.strip().splitlines()) == 1
    finally:
        run_sql(postgres_url, f'DROP ROLE "{role}"')
    store = open_store(postgres_url)  # and a user that may: it works
    store.close()
