"""`llmlog serve` that cannot start says why in one line and exits non-zero, never a traceback
(issue 14, item 14): a read-only database, a database path that cannot be created, a port in use."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmlog.cli import main
from llmlog.store.sqlite.db import connect

ROOT = Path(__file__).resolve().parents[2]


def _serve(tmp_path, db: str, port: int | str, config_text: str = "", **env: str) -> subprocess.CompletedProcess:
    config = tmp_path / "llmlog.toml"
    config.write_text(config_text)
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--config", str(config), "--db", db, "--port", str(port)],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_clear_line(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error:"), result.stderr  # that line and nothing else
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("config_text, words", [
    ("[server\n", ["is not valid TOML", "line 1"]),
    ("port = 8080\n", ["unknown config key", "port"]),
])
def test_a_config_file_that_cannot_be_read_stops_serve_with_one_line(tmp_path, config_text, words):
    _one_clear_line(_serve(tmp_path, str(tmp_path / "llmlog.db"), _free_port(), config_text), *words)


def test_a_missing_config_file_stops_serve_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--config", str(tmp_path / "none.toml")],
                            capture_output=True, text=True, timeout=60, cwd=str(ROOT),
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    _one_clear_line(result, "config file not found", "none.toml")


def test_a_file_that_is_not_a_database_stops_serve_with_one_line(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_bytes(b"not sqlite " * 500)
    _one_clear_line(_serve(tmp_path, str(db), _free_port()), str(db), "not a database")
    assert db.read_bytes() == b"not sqlite " * 500  # left as it was


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version
    result = CliRunner().invoke(main, ["--version"])
    assert (result.exit_code, result.output) == (0, f"llmlog {version('llmlog')}\n")


def test_the_banner_names_the_address_logs_page_database_and_each_provider(tmp_path):
    from importlib.metadata import version
    config = tmp_path / "two.toml"
    config.write_text('[[providers]]\nname = "openai"\nbase_url = "https://api.openai.com"\n'
                      '[[providers]]\nname = "anthropic"\nbase_url = "https://api.anthropic.com"\n'
                      'prefix = "/anthropic"\nformat = "anthropic"\n')
    db = tmp_path / "l.db"
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--config", str(config), "--db", str(db),
                             "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # past any warning logged first (an HTTPS_PROXY in the environment)
            if "proxying on" in line:
                break
        lines = [line.rstrip("\n")] + [proc.stderr.readline().rstrip("\n") for _ in range(5)]
    finally:
        proc.terminate()
        proc.wait(30)
    found = re.fullmatch(r"llmlog (\S+): proxying on (http://127\.0\.0\.1:\d+)", lines[0])
    assert found, lines
    base = found.group(2)
    assert found.group(1) == version("llmlog")
    assert lines[1:] == [f"  logs page  {base}/ui", f"  database   {db}",
                         f"  provider   openai     {base}/ → https://api.openai.com",
                         f"  provider   anthropic  {base}/anthropic → https://api.anthropic.com",
                         "  privacy    personal data counted; content in clear"]


def test_the_banner_says_what_is_redacted_and_which_key_encrypts(tmp_path):
    from llmlog.proxy.cli.serve import start_banner
    from llmlog.proxy.settings import load_config
    from llmlog.store.keyring import key_id
    keys = f"{'b2' * 32},{'a1' * 32}"
    config = load_config(None, env={"LLMLOG_PRIVACY_REDACT": "email,card", "K": keys,
                                    "LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV": "K"})
    line = start_banner(config, "127.0.0.1", 8080).splitlines()[-1]
    newest = key_id(bytes.fromhex("b2" * 32))
    assert line == (f"  privacy    personal data counted; email, card redacted; content encrypted with key {newest} "
                    "(1 older key(s) to decrypt)")
    assert "b2b2" not in line


def test_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path, str(tmp_path / "llmlog.db"), port)
    _one_clear_line(result, f"127.0.0.1:{port}", "in use")


def test_database_path_through_a_regular_file(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    result = _serve(tmp_path, str(tmp_path / "afile" / "sub" / "llmlog.db"), _free_port())
    _one_clear_line(result, "afile")


def test_a_missing_directory_is_created(tmp_path):
    """A missing directory that can be made still is, as before: serve starts (and is stopped here)."""
    db = tmp_path / "new" / "dir" / "llmlog.db"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--db", str(db), "--port", str(_free_port())],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(200):
            if db.exists() or proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"])
        assert db.exists() and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(30)


def _make_read_only(path: Path) -> None:
    """chmod for an ordinary user; root ignores modes, so root marks the file immutable."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr +i: no way to make a read-only file")


def test_read_only_database(tmp_path):
    db = tmp_path / "llmlog.db"
    connect(str(db)).close()
    _make_read_only(db)
    try:
        result = _serve(tmp_path, str(db), _free_port())
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)])
    _one_clear_line(result, str(db), "read-only")


@pytest.mark.parametrize("config_text, words", [
    # a size of 0 served calls but wrote almost none of them, and the process spun and ignored SIGTERM
    ("[store]\nbatch_size = 0\n", ["store.batch_size from", "llmlog.toml", "expected an integer of at least 1",
                                   "got 0"]),
    ("[store]\nqueue_size = 0\n", ["store.queue_size from", "at least 1"]),
    ("[upstream]\nread_timeout_s = nan\n", ["upstream.read_timeout_s from", "finite", "got nan"]),
    ("[server]\nhost = [\"a\"]\n", ["server.host from", "expected a string, got ['a']"]),
    ("providers = [1]\n", ["providers[0] must be a table ([[providers]]"]),
    ('providers = "x"\n', ["providers must be an array of tables ([[providers]])"]),
])
def test_a_bad_setting_stops_serve_with_one_line(tmp_path, config_text, words):
    result = _serve(tmp_path, str(tmp_path / "llmlog.db"), _free_port(), config_text)
    _one_clear_line(result, *words)
    assert not (tmp_path / "llmlog.db").exists()  # refused before anything was opened


@pytest.mark.parametrize("config_text, message", [
    ("providers = [1]\n", "providers[0] must be a table"),
    ('providers = "x"\n', "providers must be an array of tables ([[providers]]), got a string"),
    ("[store]\nbatch_size = 0\n", "store.batch_size from"),
])
def test_a_bad_setting_stops_the_read_commands_with_one_line(tmp_path, config_text, message):
    config = tmp_path / "llmlog.toml"
    config.write_text(config_text)
    for command in (["logs"], ["show", "X"], ["summary"]):
        result = CliRunner().invoke(main, [*command, "--config", str(config), "--db", str(tmp_path / "x.db")])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (command, result.exception)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], (command, result.output)


def test_a_port_given_in_other_digits_is_refused(tmp_path):
    """int() reads Arabic-Indic digits; the port is ASCII digits only, from the flag as from the variable."""
    result = _serve(tmp_path, str(tmp_path / "llmlog.db"), "٨٠٨٠")
    _one_clear_line(result, "server.port from --port", "from 0 to 65535", "'٨٠٨٠'")
    result = _serve(tmp_path, str(tmp_path / "llmlog.db"), "8080.9")
    _one_clear_line(result, "server.port from --port", "'8080.9'")


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_port_zero_listens_on_a_free_port_and_prints_it(tmp_path, how):
    """`LLMLOG_PORT=0` printed "proxying on http://127.0.0.1:0": the banner names the port in use."""
    args = ["--port", "0"] if how == "flag" else []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LLMLOG_PORT": "0" if how == "variable" else "8"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--db", str(tmp_path / "l.db"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=str(ROOT), env=env)
    try:
        banner = ""
        assert proc.stderr is not None
        for line in proc.stderr:
            if "proxying on" in line:
                banner = line
                break
        found = re.search(r"proxying on http://127\.0\.0\.1:(\d+)\s", banner)
        assert found, banner
        port = int(found.group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_config_path_that_is_a_directory_stops_serve_with_one_line(tmp_path, how):
    """Click's own check of `--config` printed its 4-line usage error naming `--config`, also for a path
    that came from LLMLOG_CONFIG; the loader's one line says what is wrong with which file."""
    folder = tmp_path / "conf.d"
    folder.mkdir()
    args, env = (["--config", str(folder)], {}) if how == "flag" else ([], {"LLMLOG_CONFIG": str(folder)})
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(_free_port()),
                             "--db", str(tmp_path / "llmlog.db"), *args],
                            capture_output=True, text=True, timeout=60, cwd=str(ROOT),
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    _one_clear_line(result, "config file", "conf.d", "cannot be read")
