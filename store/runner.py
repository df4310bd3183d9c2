"""One thread per role (writer, reader, upkeep) owns one `Store`; async code hands it plain sync
calls. This is the pattern aiosqlite implements, kept here in a few lines so that every store
operation stays a plain sync method shared by the server and the CLI (one implementation, not two).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .interface import Store

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


def name_this_thread(name: str) -> None:
    """Give the calling thread `name` where the OS shows it (`top -H`, `ps -L`, /proc/<pid>/task/*/comm:
    15 characters), so the writer's, the checkpointer's and the readers' CPU can be told apart from
    the event loop's. Linux only; elsewhere, or where /proc is not writable, nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass


class StoreThread:
    """Runs calls on one `Store` on a thread of its own. `nice` > 0 lowers the thread's priority, so
    the kernel lets the woken event loop run before a database writer, which catches up in the gaps
    (bench/README.md, "Measurements behind constants"). The store is opened on the thread, at its first use."""

    def __init__(self, open_store: Callable[[], Store], name: str, *, nice: int = 0):
        self._open_store = open_store
        self.name = name
        self._nice = nice
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._store: Store | None = None

    def _call(self, fn: Callable[[Store], T]) -> T:
        if self._store is None:
            name_this_thread(self.name)
            lower_this_threads_priority(self._nice)
            self._store = self._open_store()
        return fn(self._store)

    async def run(self, fn: Callable[[Store], T]) -> T:
        """`fn(store)` on this thread's store, e.g. `await reader.run(lambda s: s.get_log(call_id))`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            store.close()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


class StorePool:
    """Several StoreThreads over one database; each call goes to the one with the fewest calls in
    hand. The logs API's reads then run side by side (SQLite in WAL mode and PostgreSQL both serve
    readers at once, and sqlite3 lets go of the GIL while a query runs), so the logs page's dashboard,
    three or four aggregates asked at once, waits about as long as the slowest, not their sum."""

    def __init__(self, open_store: Callable[[], Store], name: str, size: int):
        self._threads = [StoreThread(open_store, f"{name}-{i}") for i in range(size)]
        self._in_hand = [0] * size

    async def run(self, fn: Callable[[Store], T]) -> T:
        """`fn(store)` on the least busy thread's store; calls given one after another may run on
        different connections, so each must stand alone (as every logs-API read does)."""
        i = min(range(len(self._threads)), key=self._in_hand.__getitem__)
        self._in_hand[i] += 1
        try:
            return await self._threads[i].run(fn)
        finally:
            self._in_hand[i] -= 1

    async def close(self) -> None:
        for thread in self._threads:
            await thread.close()
