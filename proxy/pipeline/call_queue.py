"""The bounded queue between the handlers and the pipeline task: one producer side that never
waits, one consumer that waits cheaply.

asyncio.Queue with a timeout on every get arms and cancels a timer per call, and wakes through a
fresh future per get. Here a put wakes the consumer only when it is waiting, and a deadline is one
timer per batch that calls `wake` (about 5 against 1 µs per call: bench/README.md, "Measurements
behind constants").
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class CallQueue(Generic[T]):
    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future | None = None
        self._unfinished = 0  # put and not yet marked done: what `join` waits for
        self._finished = asyncio.Event()
        self._finished.set()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        """Queue `item`; raises asyncio.QueueFull at `maxsize`."""
        if len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        self._unfinished += 1
        self._finished.clear()
        self.wake()

    def get_nowait(self) -> T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def wait(self) -> None:
        """Return once an item is queued, or `wake` was called (a deadline: the queue may be empty).
        A cancel leaves every item in the queue."""
        if self._items:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called more times than items were put")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._finished.set()

    async def join(self) -> None:
        """Until every item put so far has been marked done."""
        await self._finished.wait()
