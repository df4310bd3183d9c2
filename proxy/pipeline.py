"""Off the request path: captured calls → entries → batched writes, with a spill file as backstop.

Handlers only call `submit` (never awaits). One task drains the queue, builds entries a call at a
time (yielding between them so proxied traffic keeps the loop), and writes a batch by size or time.
If a write fails the batch goes to the spill file and is replayed once writing works again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from store.rows import Entry
from store.spill import SpillFile
from store.thread import ThreadedConnection
from store.writer import write_batch

from .capture import CapturedCall
from .metrics import Metrics

log = logging.getLogger("llmlog.pipeline")
RETRY_AFTER_S = 1.0


class Pipeline:
    def __init__(self, db: ThreadedConnection, spill: SpillFile, build: Callable[[CapturedCall], Entry],
                 fallback: Callable[[CapturedCall, str], Entry], metrics: Metrics, *,
                 queue_size: int, batch_size: int, batch_interval_s: float):
        self.db, self.spill, self.build, self.fallback, self.metrics = db, spill, build, fallback, metrics
        self.queue: asyncio.Queue[CapturedCall] = asyncio.Queue(maxsize=queue_size)
        self.batch_size, self.batch_interval_s = batch_size, batch_interval_s
        self.metrics.queue_depth = self.queue.qsize
        self._retry_at = 0.0
        self._overflow: list[CapturedCall] = []
        self._overflow_ready = asyncio.Event()
        self._in_hand: list[CapturedCall] = []

    # -- request path ---------------------------------------------------------------------------
    def submit(self, call: CapturedCall) -> None:
        """Hand over a finished call; never waits and does no work of its own. When the queue is
        full the call joins the overflow, which a background task interprets and spills to disk."""
        self.metrics.calls[(call.provider.name, call.status)] += 1
        try:
            self.queue.put_nowait(call)
        except asyncio.QueueFull:
            self._overflow.append(call)
            self._overflow_ready.set()

    async def run_overflow(self) -> None:
        """Spill overflowing calls in batches (one fsync per batch), off the request path."""
        while True:
            await self._overflow_ready.wait()
            self._overflow_ready.clear()
            await self._spill_overflow()

    async def _spill_overflow(self) -> None:
        # calls leave the overflow only once spilled, so a cancelled pass loses nothing (a repeat
        # is harmless: replay skips ids already stored)
        while self._overflow:
            calls = self._overflow[:self.batch_size]
            entries = await self._build_all(calls)
            await asyncio.to_thread(self._spill, entries)
            del self._overflow[:len(calls)]

    # -- background -----------------------------------------------------------------------------
    def _entry(self, call: CapturedCall) -> Entry:
        try:
            return self.build(call)
        except Exception as exc:  # a parsing bug must cost detail, never the entry
            log.exception("could not interpret call %s", call.id)
            return self.fallback(call, f"{type(exc).__name__}: {exc}")

    def _spill(self, entries: list[Entry]) -> None:
        try:
            self.metrics.entries_spilled += self.spill.append(entries)
        except OSError:
            log.exception("spill file %s failed; %d entries lost", self.spill.path, len(entries))
            self.metrics.entries_dropped += len(entries)

    async def _gather(self, batch: list[CapturedCall]) -> list[CapturedCall]:
        """Grow `batch` to up to `batch_size` calls, waiting at most `batch_interval_s`."""
        deadline = time.monotonic() + self.batch_interval_s
        while len(batch) < self.batch_size:
            try:
                batch.append(self.queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _build_all(self, calls: list[CapturedCall]) -> list[Entry]:
        entries = []
        for call in calls:
            entries.append(self._entry(call))
            await asyncio.sleep(0)  # let proxied requests run between entries
        return entries

    async def _write(self, entries: list[Entry]) -> None:
        started = time.perf_counter()
        try:
            written = await self.db.run(write_batch, entries)
        except Exception as exc:
            log.warning("writing %d entries failed (%s); spilling to %s", len(entries), exc, self.spill.path)
            self.metrics.write_errors += 1
            await asyncio.to_thread(self._spill, entries)
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            return
        self.metrics.entries_written += written
        self.metrics.batches += 1
        self.metrics.batch_seconds += time.perf_counter() - started
        await self._replay_spill()

    async def _replay_spill(self) -> None:
        if time.monotonic() < self._retry_at or not self.spill.pending():
            return
        try:
            replayed = await self.db.run(self.spill.replay)
        except Exception as exc:
            log.warning("replaying the spill file failed (%s); will retry", exc)
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            return
        self.metrics.entries_replayed += replayed
        self.metrics.entries_written += replayed

    async def run(self) -> None:
        """The pipeline task: runs until cancelled; `close` drains what is left."""
        await self._replay_spill()  # entries spilled by an earlier run
        while True:
            try:
                first = await asyncio.wait_for(self.queue.get(), RETRY_AFTER_S)
            except asyncio.TimeoutError:
                await self._replay_spill()
                continue
            # calls in hand are out of the queue: if the task is cancelled now, `close` writes them
            self._in_hand = [first]
            calls = await self._gather(self._in_hand)
            await self._write(await self._build_all(calls))
            self._in_hand = []
            for _ in calls:
                self.queue.task_done()

    async def flush(self) -> None:
        """Wait until everything submitted so far is written (or spilled). For tests and shutdown."""
        await self.queue.join()
        while self._overflow:
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Spill the overflow, write whatever is still queued, then retry the spill once more."""
        await self._spill_overflow()
        calls, self._in_hand = self._in_hand, []
        while not self.queue.empty():
            calls.append(self.queue.get_nowait())
            self.queue.task_done()
        for start in range(0, len(calls), self.batch_size):
            entries = [self._entry(c) for c in calls[start:start + self.batch_size]]
            await self._write(entries)
        self._retry_at = 0.0
        await self._replay_spill()
