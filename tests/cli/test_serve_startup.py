"""`llmlog serve` that cannot start says why in one line and exits non-zero, never a traceback
(issue 14, item 14): a read-only database, a database path that cannot be created, a port in use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from store.sqlite.db import connect

ROOT = Path(__file__).resolve().parents[2]


def _serve(tmp_path, db: str, port: int) -> subprocess.CompletedProcess:
    config = tmp_path / "llmlog.toml"
    config.write_text("")
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--config", str(config), "--db", db, "--port", str(port)],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})


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
