"""`llmlog serve --workers N` that cannot start says why in one line, as one process does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from llmlog.cli import main


def _serve(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmlog.cli", "serve", "--db", str(tmp_path / "llmlog.db"), *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "LLMLOG_WORKERS": "2"})


def _one_line(status: int, text: str, *words: str) -> None:
    assert status != 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), text
    for word in words:
        assert word in lines[0], lines[0]


def outcome(result) -> tuple[int, str]:
    """(exit status, what it printed) of a subprocess's or CliRunner's run."""
    if isinstance(result, subprocess.CompletedProcess):
        return result.returncode, result.stderr
    return result.exit_code, result.output


@pytest.mark.parametrize("value, words", [
    ("0", ["server.workers from --workers", "from 1 to 64", "got '0'"]),
    ("65", ["server.workers from --workers", "from 1 to 64", "got '65'"]),
    ("x", ["server.workers from --workers", "'x'"]),
])
def test_a_workers_count_out_of_range_is_one_line(tmp_path, value, words):
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "l.db"), "--workers", value])
    _one_line(*outcome(result), *words)
    assert not (tmp_path / "l.db").exists()


def test_the_variable_is_checked_the_same_way(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "l.db")], env={"LLMLOG_WORKERS": "0"})
    _one_line(*outcome(result), "server.workers from LLMLOG_WORKERS", "from 1 to 64")


def test_a_port_in_use_is_one_line_before_any_worker_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path, "--port", str(port))
    _one_line(*outcome(result), f"127.0.0.1:{port}", "address already in use")
    assert not (tmp_path / "llmlog.db").exists()  # checked by the supervisor: no worker opened the store


def test_a_port_shared_by_another_serve_with_workers_is_in_use_too(tmp_path):
    """Its workers' sockets let others share the port (SO_REUSEPORT); the supervisor's check does not."""
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path, "--port", str(port))
    _one_line(*outcome(result), f"127.0.0.1:{port}", "address already in use")


def test_a_file_where_the_workers_socket_goes_is_refused_in_one_line(tmp_path):
    (tmp_path / "llmlog.db.workers.sock").write_text("not a socket")
    result = _serve(tmp_path, "--port", "0")
    _one_line(*outcome(result), "llmlog.db.workers.sock exists and is not a socket")
    assert (tmp_path / "llmlog.db.workers.sock").read_text() == "not a socket"
