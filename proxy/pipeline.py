"""Off the request path: captured calls → entries → batched writes, with a spill file as backstop.

Handlers only call `submit` (never awaits). One task drains the queue, builds entries in short
time slices (so proxied traffic keeps the loop), and writes a batch by size or time. If a write
fails the batch goes to the spill file and is replayed once writing works again; an entry the
database refuses for its data is set aside on its own so it cannot hold back the rest.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Callable

from store.rows import Entry
from store.spill import SpillFile
from store.thread import ThreadedConnection
from store.writer import write_batch, write_each

from .capture import CapturedCall
from .metrics import Metrics

log = logging.getLogger("llmlog.pipeline")
RETRY_AFTER_S = 1.0
# Building entries holds the event loop for at most one slice before proxied requests run again:
# the shortest slice while the pipeline keeps up (a request then waits at most that long), growing
# to the longest as a backlog builds beyond one batch, so under sustained load logging takes the
# CPU share it needs instead of falling behind into the (costlier) spill file.
MIN_SLICE_S, MAX_SLICE_S = 0.0002, 0.005
BACKLOG_FOR_MAX_SLICE = 0.25  # queue fill at which slices reach their longest


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
        except Exception:  # disk full, or an entry not even JSON can hold
            log.exception("spill file %s failed; %d entries lost", self.spill.path, len(entries))
            self.metrics.entries_dropped += len(entries)

    def _reject(self, rejected: list[tuple[Entry, str]]) -> None:
        for entry, reason in rejected:
            log.error("entry %s refused by the database (%s); kept in %s",
                      entry.call.get("id"), reason, self.spill.rejected_path)
        try:
            self.spill.reject(rejected)
        except Exception:
            log.exception("could not keep %d refused entries", len(rejected))
        self.metrics.entries_dropped += len(rejected)

    async def _next_batch(self) -> list[CapturedCall] | None:
        """The next batch: up to `batch_size` calls, waiting at most `batch_interval_s` once the
        first has come; None when none came within RETRY_AFTER_S. The calls are in `_in_hand`
        from the moment they leave the queue, so a cancel never loses them (`close` writes them).

        `asyncio.timeout` rather than `wait_for`: on Python 3.11 `wait_for` can swallow a cancel
        that races a queue item, which left shutdown waiting forever."""
        batch = self._in_hand = []
        try:
            async with asyncio.timeout(RETRY_AFTER_S):
                batch.append(await self.queue.get())
        except TimeoutError:
            return None
        try:
            async with asyncio.timeout(self.batch_interval_s):
                while len(batch) < self.batch_size:
                    batch.append(await self.queue.get())  # no suspension while calls are queued
        except TimeoutError:
            pass
        return batch

    def _slice_s(self) -> float:
        behind = self.queue.qsize() - self.batch_size  # up to one batch waiting is keeping up
        if behind <= 0:
            return MIN_SLICE_S
        full = max(1.0, self.queue.maxsize * BACKLOG_FOR_MAX_SLICE - self.batch_size)
        return MIN_SLICE_S + (MAX_SLICE_S - MIN_SLICE_S) * min(1.0, behind / full)

    async def _build_all(self, calls: list[CapturedCall]) -> list[Entry]:
        entries = []
        clock = time.perf_counter
        slice_end = clock() + self._slice_s()
        for call in calls:
            entries.append(self._entry(call))
            if clock() >= slice_end:
                await asyncio.sleep(0)  # let proxied requests run
                slice_end = clock() + self._slice_s()
        return entries

    async def _write(self, entries: list[Entry]) -> None:
        started = time.perf_counter()
        try:
            try:
                written = await self.db.run(write_batch, entries)
            except sqlite3.OperationalError:  # locked, read-only, disk full: the database, not the data
                raise
            except Exception as exc:  # the data: write one by one, set the refused entries aside
                log.warning("a batch of %d entries was refused (%s); writing them one by one", len(entries), exc)
                written, rejected = await self.db.run(write_each, entries)
                self._reject(rejected)
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
            calls = await self._next_batch()
            if calls is None:
                await self._replay_spill()
                continue
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
