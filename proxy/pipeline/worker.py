"""Off the request path: captured calls → entries → batched writes, with a spill file as backstop.

Handlers only call `submit` (never awaits). One task takes calls off the queue as they arrive and
builds each entry at once, in short time slices, so interpretation is spread between requests
instead of arriving in bursts; a batch goes to the writer thread by size or time while the next
one is built. If a write fails the batch goes to the spill file and is replayed once writing works
again; an entry the database refuses for its data is set aside so it cannot hold back the rest.
If the spill file fails too (its disk is full), the entries are held in memory, up to a bound, and
written or spilled on the next retry; only beyond that bound is an entry dropped, and counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from llmlog.proxy.forward.capture import CapturedCall
from llmlog.proxy.metrics import Metrics
from llmlog.proxy.pipeline.call_queue import CallQueue
from llmlog.proxy.pipeline.interpret import heavy_call
from llmlog.store.interface import Refused
from llmlog.store.rows import Entry
from llmlog.store.runner import StoreThread
from llmlog.store.spill import OnRefused, SpillFile

log = logging.getLogger("llmlog.pipeline")
RETRY_AFTER_S = 1.0
# Building entries holds the event loop for at most one slice before proxied requests run again:
# the shortest slice while the pipeline keeps up (a request then waits at most that long), growing
# to the longest as a backlog builds beyond one batch, so under sustained load logging takes the
# CPU share it needs instead of falling behind into the (costlier) spill file.
MIN_SLICE_S, MAX_SLICE_S = 0.0002, 0.005
BACKLOG_FOR_MAX_SLICE = 0.25  # queue fill at which slices reach their longest
# Requests go first. A client's next call usually follows the last one at once. A small entry
# (a JSON answer: tens of µs) is built at once, in that gap; a long stream's entry (hundreds of µs)
# is built no sooner than SETTLE_S after its call ended, so the next call's first byte does not
# wait behind it. Not once more than a batch is waiting: then logging catches up. The figures
# behind SETTLE_S are in bench/README.md ("Measurements behind constants").
SETTLE_S = 0.005
SETTLE_FROM_CHUNKS = 8
# Where a batch goes, and how the spill file is replayed, when not through `db` (the store on the
# writer thread): another process's writer (`serve --workers`, proxy/workers/).
WriteBatch = Callable[[list[Entry]], Awaitable[tuple[int, Refused]]]
ReplaySpill = Callable[[SpillFile, OnRefused], Awaitable[int]]


class Pipeline:
    def __init__(self, db: StoreThread, spill: SpillFile, build: Callable[[CapturedCall], Entry],
                 fallback: Callable[[CapturedCall, str], Entry], metrics: Metrics, *,
                 queue_size: int, batch_size: int, batch_interval_s: float, hold_size: int | None = None,
                 observe: Callable[[CapturedCall, Entry], None] | None = None,
                 write: WriteBatch | None = None, replay: ReplaySpill | None = None,
                 catch_up: StoreThread | None = None):
        hold_size = queue_size if hold_size is None else hold_size
        # every loop here takes a batch of at least one entry and waits a positive interval: a size
        # of 0 would take nothing for ever (the settings refuse it too; proxy/settings/)
        for name, value, least in (("queue_size", queue_size, 1), ("batch_size", batch_size, 1),
                                   ("hold_size", hold_size, 0)):
            if not isinstance(value, int) or value < least:
                raise ValueError(f"Pipeline {name} must be an integer of at least {least}, got {value!r}")
        if not 0 < batch_interval_s < float("inf"):
            raise ValueError(f"Pipeline batch_interval_s must be a positive number of seconds, "
                             f"got {batch_interval_s!r}")
        self.db, self.spill, self.build, self.fallback, self.metrics = db, spill, build, fallback, metrics
        # The writer thread runs below the event loop's priority, so a call never waits long behind a
        # write; under a load that keeps the core busy that leaves it a tenth of the core, too little
        # to keep up. Batches written while logging is behind go through `catch_up`, a second writer
        # thread at the loop's own priority (an unprivileged thread can lower its priority but never
        # raise it again); one write at a time either way.
        self.catch_up = catch_up or db
        self.observe = observe  # told of each entry built: metrics and traces (proxy/telemetry/)
        self._write_batch = write or self._write_to_store
        self._replay_into = replay or self._replay_into_store
        self.queue: CallQueue[CapturedCall] = CallQueue(maxsize=queue_size)
        self.batch_size, self.batch_interval_s = batch_size, batch_interval_s
        self.metrics.queue_depth = self.queue.qsize
        self.hold_size = hold_size
        self._held: list[Entry] = []  # neither written nor spilled (both failed): retried, bounded
        self.metrics.entries_held = self._held.__len__
        self._retry_at = 0.0
        self._overflow: list[CapturedCall] = []  # waiting for the spill file; at most hold_size
        self._overflow_dropped = 0  # since last said in the log
        self._overflow_ready = asyncio.Event()
        self._batch: list[Entry] = []  # built, not yet handed to a write
        self._taken: CapturedCall | None = None  # out of the queue, entry not built yet (settling)
        self._writing: asyncio.Task | None = None  # the batch being written, at most one
        self._batch_due = False  # the batch being built has reached its interval

    # -- request path ---------------------------------------------------------------------------
    def submit(self, call: CapturedCall) -> None:
        """Hand over a finished call; never waits and does no work of its own. When the queue is
        full the call joins the overflow, which a background task interprets and spills to disk."""
        try:
            self.queue.put_nowait(call)
        except asyncio.QueueFull:
            if len(self._overflow) >= self.hold_size:  # the spill file is stuck too: memory is the bound
                self.metrics.entries_dropped += 1
                self._overflow_dropped += 1
            else:
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
        if self._overflow_dropped:
            log.error("queue and overflow full (the spill file is not keeping up); %d calls not logged",
                      self._overflow_dropped)
            self._overflow_dropped = 0
        while self._overflow:
            calls = self._overflow[:self.batch_size]
            entries = await self._build_all(calls)
            await self._spill(entries)  # or held, when the spill fails
            del self._overflow[:len(calls)]

    # -- background -----------------------------------------------------------------------------
    def _entry(self, call: CapturedCall) -> Entry:
        try:
            return self.build(call)
        except Exception as exc:  # a parsing bug must cost detail, never the entry
            log.exception("could not interpret call %s", call.id)
            return self.fallback(call, f"{type(exc).__name__}: {exc}")

    async def _built(self, call: CapturedCall) -> Entry:
        """`_entry`; for a compressed or large call in a worker thread: inflating, parsing and
        scanning it for personal data is bounded by store.max_body_bytes but still too slow to hold
        the event loop for (issue 14 item 12; `heavy_call`)."""
        entry = await asyncio.to_thread(self._entry, call) if heavy_call(call) else self._entry(call)
        if self.observe is not None:
            try:
                self.observe(call, entry)
            except Exception:  # telemetry must never cost the entry
                log.exception("could not record telemetry of call %s", call.id)
        return entry

    async def _spill(self, entries: list[Entry]) -> bool:
        """Append to the spill file (all or none); if that fails, hold the entries in memory."""
        try:
            self.metrics.entries_spilled += await asyncio.to_thread(self.spill.append, entries)
            return True
        except Exception as exc:  # disk full, or an entry not even JSON can hold
            log.warning("spill file %s failed (%s); holding %d entries in memory to retry",
                        self.spill.path, exc, len(entries))
            self.metrics.spill_errors += 1
            self._hold(entries)
            self._retry_later()
            return False

    def _hold(self, entries: list[Entry]) -> None:
        room = max(0, self.hold_size - len(self._held))
        self._held.extend(entries[:room])
        lost = len(entries) - room
        if lost > 0:
            log.error("database and spill file failed and %d entries are already held in memory; "
                      "%d entries lost", len(self._held), lost)
            self.metrics.entries_dropped += lost

    def _retry_later(self) -> None:
        """Retry held and spilled entries after RETRY_AFTER_S; a retry already due is not pushed
        back, so a steady stream of failing batches cannot postpone it for ever."""
        now = time.monotonic()
        if self._retry_at <= now:
            self._retry_at = now + RETRY_AFTER_S

    def _reject(self, rejected: list[tuple[Entry, str]]) -> None:
        try:
            self.spill.reject(rejected)
        except Exception:
            log.exception("could not keep %d refused entries", len(rejected))
        self._note_refused(rejected)

    def _note_refused(self, rejected: list[tuple[Entry, str]]) -> None:
        """Log and count entries the database refused (kept in the .rejected file), live or replayed."""
        for entry, reason in rejected:
            log.error("entry %s refused by the database (%s); kept in %s",
                      entry.call.get("id"), reason, self.spill.rejected_path)
        self.metrics.entries_dropped += len(rejected)

    async def _next_call(self, timeout_s: float) -> CapturedCall | None:
        """The next queued call, waiting at most `timeout_s`; None when none came. A cancel leaves
        the call in the queue (`close` writes it)."""
        if self.queue.empty():
            timer = asyncio.get_running_loop().call_later(timeout_s, self.queue.wake)
            try:
                await self.queue.wait()
            finally:
                timer.cancel()
        return None if self.queue.empty() else self.queue.get_nowait()

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
            entries.append(await self._built(call))
            if clock() >= slice_end:
                await asyncio.sleep(0)  # let proxied requests run
                slice_end = clock() + self._slice_s()
        return entries

    def _writer(self) -> StoreThread:
        """The writer thread for the next write: `catch_up` while more than a batch is queued or calls
        wait to be spilled (logging is behind), else `db`."""
        behind = self.queue.qsize() > self.batch_size or bool(self._overflow)
        return self.catch_up if behind else self.db

    async def _write_to_store(self, entries: list[Entry]) -> tuple[int, Refused]:
        return await self._writer().run(lambda store: store.write_or_split(entries))

    async def _replay_into_store(self, spill: SpillFile, on_refused: OnRefused) -> int:
        return await self._writer().run(lambda store: spill.replay(store, on_refused))

    async def _write(self, entries: list[Entry]) -> bool:
        """Write a batch; if that fails, spill it (or hold it). True when written."""
        started = time.perf_counter()
        try:
            # a batch that went to a database file removed meanwhile raises StoreReplaced: it is
            # spilled, then replayed
            written, rejected = await self._write_batch(entries)
            if rejected:
                self._reject(rejected)
        except Exception as exc:
            log.warning("writing %d entries failed (%s); spilling to %s", len(entries), exc, self.spill.path)
            self.metrics.write_errors += 1
            self.metrics.store_up = False
            await self._spill(entries)
            self._retry_later()
            return False
        self.metrics.store_up = True
        self.metrics.entries_written += written
        self.metrics.batches += 1
        self.metrics.batch_seconds += time.perf_counter() - started
        return True

    async def _catch_up(self) -> None:
        """Once the retry delay is over: write the entries held in memory, then replay the spill file."""
        if time.monotonic() < self._retry_at:
            return
        while self._held:
            entries = self._held[:self.batch_size]
            del self._held[:len(entries)]
            if not await self._write(entries):  # spilled, or held again
                return
        await self._replay_spill()

    async def _replay_spill(self) -> None:
        if time.monotonic() < self._retry_at or not self.spill.pending():
            return
        try:
            replayed = await self._replay_into(self.spill, self._note_refused)
        except Exception as exc:
            log.warning("replaying the spill file failed (%s); will retry", exc)
            self.metrics.store_up = False
            self._retry_later()
            return
        finally:
            self.metrics.spill_records_torn = self.spill.torn
        self.metrics.store_up = True
        self.metrics.entries_replayed += replayed
        self.metrics.entries_written += replayed

    async def run(self) -> None:
        """The pipeline task: runs until cancelled; `close` drains what is left."""
        await self._replay_spill()  # entries spilled by an earlier run
        loop = asyncio.get_running_loop()
        clock = time.perf_counter
        while True:
            call = await self._next_call(RETRY_AFTER_S)
            if call is None:
                if self._writing is None or self._writing.done():
                    await self._catch_up()
                continue
            # one timer per batch marks the deadline and ends a wait (no timer armed per call)
            self._batch_due = False
            deadline_timer = loop.call_later(self.batch_interval_s, self._end_batch)
            batch = self._batch = []
            slice_end = clock() + self._slice_s()
            try:
                while True:
                    self._taken = call  # `close` builds it if a cancel comes while it settles
                    if await self._settle(call):
                        slice_end = clock() + self._slice_s()
                    batch.append(await self._built(call))
                    self._taken = None
                    if len(batch) >= self.batch_size:
                        break
                    if clock() >= slice_end:
                        await asyncio.sleep(0)  # let proxied requests run
                        slice_end = clock() + self._slice_s()
                    if not self._batch_due:  # set by the deadline, here or during a wait
                        await self.queue.wait()
                    if self._batch_due:  # no entry waits longer than the batch interval for its write
                        break
                    call = self.queue.get_nowait()
            finally:
                deadline_timer.cancel()
            await self._hand_to_writer(batch)

    def _end_batch(self) -> None:
        self._batch_due = True
        self.queue.wake()

    async def _settle(self, call: CapturedCall) -> bool:
        """Wait until a long stream's entry is SETTLE_S old (see above); True if it waited."""
        if len(call.chunks) < SETTLE_FROM_CHUNKS or self.queue.qsize() > self.batch_size:
            return False
        pause = (call.started_at_ms + (call.duration_ms or 0.0)) / 1000 + SETTLE_S - time.time()
        if pause <= 0.0002:  # not for a sliver: a timer costs more than it saves
            return False
        await asyncio.sleep(pause)
        return True

    async def _hand_to_writer(self, entries: list[Entry]) -> None:
        """Start writing `entries` once the previous batch is written (one write at a time, in
        order); building goes on meanwhile. A cancel here leaves `entries` in `_batch` for `close`."""
        if self._writing is not None:
            with suppress(Exception):
                await asyncio.shield(self._writing)
        self._writing = asyncio.create_task(self._write_settled(entries), name="llmlog-write")
        self._batch = []

    async def _write_settled(self, entries: list[Entry]) -> None:
        try:
            await self._write(entries)
            await self._catch_up()
        finally:
            for _ in entries:
                self.queue.task_done()

    async def flush(self) -> None:
        """Wait until everything submitted so far is written (or spilled). For tests and shutdown."""
        await self.queue.join()
        while self._overflow:
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Spill the overflow, finish the write under way, write what is built or still queued,
        then retry the held entries and the spill once more. What is still held then is lost: counted."""
        await self._spill_overflow()
        if self._writing is not None:
            with suppress(Exception):
                await self._writing
        entries, self._batch = self._batch, []
        if self._taken is not None:
            entries.append(await self._built(self._taken))
            self._taken = None
        while not self.queue.empty():
            entries.append(await self._built(self.queue.get_nowait()))
        for start in range(0, len(entries), self.batch_size):
            await self._write(entries[start:start + self.batch_size])
        for _ in entries:
            self.queue.task_done()
        self._retry_at = 0.0
        await self._catch_up()
        if self._held:
            log.error("database and spill file still failing at shutdown; %d entries held in memory lost",
                      len(self._held))
            self.metrics.entries_dropped += len(self._held)
            self._held.clear()
