"""One thread owns one SQLite connection; async code hands it plain sync store functions.

This is the pattern aiosqlite implements, kept here in a few lines so that every store function
stays a plain sync function shared by the server and the CLI (one implementation, not two).

A connection keeps working on a database file that was deleted or replaced under it, and what it
writes then is lost with the old file. So before each use the path is checked (one stat) against
the file the connection opened, and a changed or missing file is reopened (created and migrated
afresh if gone), with a warning in the log.
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
# The connections of one process reopen a vanished database one at a time, so only one creates
# and migrates it.
_REOPENING = threading.Lock()


class DatabaseReplaced(sqlite3.OperationalError):
    """The database file was removed or replaced while a write ran: the write went to the old file."""


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _set_aside_orphans(path: str) -> None:
    """The database file is gone: a -wal or -shm left beside it belongs to the old file and must
    not be read into a new one. Renamed, not deleted (connections still open keep using them)."""
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            aside = f"{path}{suffix}.orphaned"
            os.replace(path + suffix, aside)
            log.warning("moved %s, left by the removed database, to %s", path + suffix, aside)


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

    def __init__(self, path: str, name: str, *, nice: int = 0, busy_timeout_ms: int | None = None,
                 on_open: Callable[[sqlite3.Connection], None] | None = None):
        self._path = path
        self._name = name
        self._nice = nice
        self._busy_timeout_ms = busy_timeout_ms  # None: store.db's default
        self._on_open = on_open  # settings for this connection, applied again when it is reopened
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # of the file the connection opened
        self._priority_lowered = False

    def _open(self) -> None:
        if not self._priority_lowered:
            lower_this_threads_priority(self._nice)
            self._priority_lowered = True
        with _REOPENING:
            if self._identity is not None and file_identity(self._path) is None:
                _set_aside_orphans(self._path)
            self._conn = connect(self._path, check_same_thread=False)
            self._identity = file_identity(self._path)
        if self._busy_timeout_ms is not None:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        if self._on_open is not None:
            self._on_open(self._conn)

    def _is_current(self) -> bool:
        return file_identity(self._path) == self._identity

    def _call(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        if self._conn is not None and not self._is_current():
            log.warning("database %s was removed or replaced while open; %s reopens it (creating it "
                        "afresh if it is gone)", self._path, self._name)
            self._close()
        if self._conn is None:
            self._open()
        return fn(self._conn, *args, **kwargs)

    def verify(self) -> None:
        """On this connection's thread: raise DatabaseReplaced when the file at the path is no
        longer the one the connection writes to (what it wrote went with the old file)."""
        if not self._is_current():
            raise DatabaseReplaced(f"database {self._path} was removed or replaced during the write")

    def _call_verified(self, fn: Callable[..., T], args: tuple) -> T:
        result = self._call(fn, args, {})
        self.verify()
        return result

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run `fn(connection, *args, **kwargs)` on the connection's own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args, kwargs)

    async def run_verified(self, fn: Callable[..., T], *args) -> T:
        """`run` for a write that must land: raises DatabaseReplaced if the database file was
        removed or replaced while `fn` ran (the caller keeps the entries and writes them again)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call_verified, fn, args)

    def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
