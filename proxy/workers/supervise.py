"""`serve --workers N`: a supervisor that starts N worker processes on one port and serves nothing itself.

Each worker is `python -m llmlog.cli serve` with the supervisor's own flags (the port made
concrete), started as a subprocess of this interpreter rather than through multiprocessing: a
worker is then exactly the `serve` a user runs (same loading of config, flags and environment, no
pickled settings holding keys, no fork of a process that has threads), and it is in a process group
of its own, so a terminal's Ctrl-C reaches the supervisor alone, which stops the workers in order.

Start: the lead (worker 0) first, since it creates the database and, on SQLite, opens the socket
the others pass their entries through; then the others. Stop (SIGTERM or SIGINT): the others first,
each draining and flushing into the lead, then the lead. A worker that dies meanwhile is restarted;
one that keeps dying within RESTART_WINDOW_S of its start makes the supervisor give up (exit 1).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from llmlog.proxy.workers.child import READY_ENV, SUPERVISOR_ENV, WORKER_ENV

log = logging.getLogger("llmlog.workers")
RESTART_WINDOW_S = 10.0  # a worker that dies sooner than this after its start "dies at start"
MAX_DEATHS_AT_START = 3  # in a row, for one worker: then the supervisor gives up
KILL_AFTER_S = 30.0  # beyond the shutdown grace, a worker that has not stopped is killed
TICK_S = 0.1


@dataclass
class Child:
    index: int
    process: subprocess.Popen
    started: float
    ready_fd: int | None  # the pipe the worker writes to once it listens; None once read or closed
    ready: bool = False

    def check_ready(self) -> None:
        if self.ready_fd is None:
            return
        try:
            data = os.read(self.ready_fd, 1)
        except BlockingIOError:
            return
        self.ready = self.ready or data == b"1"
        os.close(self.ready_fd)
        self.ready_fd = None


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


class Supervisor:
    def __init__(self, args: list[str], count: int, *, stop_timeout_s: float,
                 env: Mapping[str, str] | None = None):
        """`args`: the `serve` command line every worker runs (after `python -m llmlog.cli`)."""
        self.command = [sys.executable, "-m", "llmlog.cli", *args]
        self.count, self.stop_timeout_s = count, stop_timeout_s
        self.env = dict(os.environ if env is None else env)
        self.children: dict[int, Child] = {}
        self.deaths_at_start = [0] * count
        self.stopping = False
        self.failed = False  # gave up on a worker that keeps dying at start

    def _stop_asked(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def run(self, on_ready: Callable[[], None]) -> int:
        """Start the workers, call `on_ready` once all listen, supervise until told to stop; the exit status."""
        # SIGHUP too: a closed terminal stops the workers in order rather than killing the supervisor alone
        previous = {sig: signal.signal(sig, self._stop_asked) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            failed = self._start(0) or self._start(*range(1, self.count))
            if failed is not None:
                self._stop_all()
                return failed
            if not self.stopping:
                on_ready()
                self._supervise()
            return self._stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _spawn(self, index: int) -> Child:
        read_fd, write_fd = os.pipe()
        try:
            process = subprocess.Popen(self.command, env={**self.env, WORKER_ENV: str(index), READY_ENV: str(write_fd),
                                                             SUPERVISOR_ENV: str(os.getpid())},
                                       stdin=subprocess.DEVNULL, pass_fds=(write_fd,), process_group=0)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        child = self.children[index] = Child(index, process, time.monotonic(), read_fd)
        return child

    def _wait(self, timeout_s: float) -> None:
        """Sleep up to `timeout_s`, waking when a worker reports it listens (or its pipe closes)."""
        fds = [c.ready_fd for c in self.children.values() if c.ready_fd is not None]
        if fds:
            select.select(fds, [], [], timeout_s)
        else:
            time.sleep(timeout_s)
        for child in self.children.values():
            child.check_ready()

    def _start(self, *indexes: int) -> int | None:
        """Start these workers and wait until each listens; the exit status to give up with when one
        exits first (it said why on its own stderr), or None."""
        started = [self._spawn(index) for index in indexes]
        while not all(child.ready for child in started) and not self.stopping:
            self._wait(TICK_S)
            for child in started:
                code = child.process.poll()
                if code is not None and not child.ready:
                    if code > 0:  # it said why, in one line, on the same stderr
                        return code
                    log.error("worker %d (pid %d) %s before it listened", child.index, child.process.pid,
                              how_it_ended(code))
                    return 1
        return None

    def _supervise(self) -> None:
        while not self.stopping:
            self._wait(TICK_S)
            for index, child in list(self.children.items()):
                code = child.process.poll()
                if code is None or self.stopping:
                    continue
                at_start = time.monotonic() - child.started < RESTART_WINDOW_S
                self.deaths_at_start[index] = self.deaths_at_start[index] + 1 if at_start else 0
                if self.deaths_at_start[index] >= MAX_DEATHS_AT_START:
                    log.error("worker %d (pid %d) %s within %.0f s of its start, %d times in a row; giving up",
                              index, child.process.pid, how_it_ended(code), RESTART_WINDOW_S, MAX_DEATHS_AT_START)
                    self.stopping = True
                    self.failed = True
                    return
                log.warning("worker %d (pid %d) %s; restarting it", index, child.process.pid, how_it_ended(code))
                self._spawn(index)

    def _stop_all(self) -> int:
        """SIGTERM the other workers and wait for them, then the lead: each drains and flushes. The
        status is 0 when every worker stopped cleanly (and none made the supervisor give up)."""
        status = 1 if self.failed else 0
        others = [c for i, c in self.children.items() if i != 0]
        lead = [c for i, c in self.children.items() if i == 0]
        for group in (others, lead):
            running = {child.index for child in group if child.process.poll() is None}
            for child in group:
                if child.index in running:
                    child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout_s + KILL_AFTER_S
            for child in group:
                try:
                    code = child.process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.error("worker %d (pid %d) did not stop in time; killing it", child.index, child.process.pid)
                    child.process.kill()
                    code = child.process.wait()
                if child.ready_fd is not None:
                    os.close(child.ready_fd)
                    child.ready_fd = None
                # a worker that flushed and was stopping already may end by the SIGTERM passed on to it
                # (a service manager signals every process): its handlers are gone only after its flush
                if code != 0 and not (code == -signal.SIGTERM and child.index in running):
                    if child.index in running:  # one that had already ended said why when it did
                        log.error("worker %d (pid %d) %s while stopping", child.index, child.process.pid,
                                  how_it_ended(code))
                    status = 1
        return status
