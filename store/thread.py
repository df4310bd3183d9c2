"""One thread owns one SQLite connection; async code hands it plain sync store functions.

This is the pattern aiosqlite implements, kept here in a few lines so that every store function
stays a plain sync function shared by the server and the CLI (one implementation, not two).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from .db import connect

T = TypeVar("T")
log = logging.getLogger("llmlog.store")


def lower_this_threads_priority(steps: int) -> None:
    """Make the calling thread yield the CPU to the event loop's thread: `steps` niceness levels
    below where it started (at most 19). Linux schedules threads one by one, so this holds for this
    thread only; elsewhere it would apply to the whole process, so it is skipped."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + steps, 19))
    except OSError as exc:
        log.warning("could not lower the priority of thread %s: %s", threading.current_thread().name, exc)


class ThreadedConnection:
    """`nice` > 0 lowers the thread's priority: measured on one core (bench/), a database writer at
    the default priority delayed about 1 in 100 proxied calls by 1-2 ms; at niceness 10 the kernel
    lets the woken event loop run first, and the writer catches up in the gaps."""

    def __init__(self, path: str, name: str, *, nice: int = 0, busy_timeout_ms: int | None = None):
        self._path = path
        self._nice = nice
        self._busy_timeout_ms = busy_timeout_ms  # None: store.db's default
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        lower_this_threads_priority(self._nice)
        self._conn = connect(self._path, check_same_thread=False)
        if self._busy_timeout_ms is not None:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")

    def _call(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        if self._conn is None:
            self._open()
        return fn(self._conn, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run `fn(connection, *args, **kwargs)` on the connection's own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args, kwargs)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
