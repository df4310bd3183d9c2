"""Starting, pinning, probing and stopping the bench's server processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from .common import pin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    """A server process pinned to one core (None: free to run on any), ready once `probe` answers."""

    def __init__(self, name: str, args: list[str], port: int, core: int | None, probe: str, *,
                 env: dict[str, str | None] | None = None, log_dir: str, exe: str | None = None, ready_s: float = 30):
        self.name, self.port, self.probe = name, port, probe
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self._log = open(self.log_path, "wb")
        # exe: another program than this Python (a peer proxy: node, or LiteLLM's own venv)
        merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}  # None: unset
        self.proc = subprocess.Popen([exe or sys.executable, *args], cwd=ROOT, env=merged,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        if core is not None:
            pin(self.proc.pid, core)
        try:
            self._wait_ready(ready_s)
        except RuntimeError:
            self.stop(5)
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                urllib.request.urlopen(self.url + self.probe, timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in {timeout_s}s; see {self.log_path}")

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM (a graceful shutdown for llmlog), then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class LoadGen:
    """The long-lived load generator process: one JSON job in, one JSON line out."""

    def __init__(self, core: int | None, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.loadgen"], cwd=ROOT,
                                     env={**os.environ, **(env or {})},
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        if core is not None:
            pin(self.proc.pid, core)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("load generator exited")
        return line

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)
