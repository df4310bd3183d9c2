"""One thread owns one SQLite connection; async code hands it plain sync store functions.

This is the pattern aiosqlite implements, kept here in a few lines so that every store function
stays a plain sync function shared by the server and the CLI (one implementation, not two).
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from .db import connect

T = TypeVar("T")


class ThreadedConnection:
    def __init__(self, path: str, name: str):
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        self._conn = connect(self._path, check_same_thread=False)

    def _call(self, fn: Callable[..., T], args: tuple) -> T:
        if self._conn is None:
            self._open()
        return fn(self._conn, *args)

    async def run(self, fn: Callable[..., T], *args) -> T:
        """Run `fn(connection, *args)` on the connection's own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
