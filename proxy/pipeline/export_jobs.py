"""Export jobs in the background (DESIGN §6): each runs on a worker thread with a store of its own,
writes its file where every process sharing the store reads it, and records its outcome. The HTTP
side (create, start, status, download) is proxy/api/export.py.

A job holds its claim among every process sharing the store while it runs; a job left running by
a process that died becomes a failure at the next start (`export_jobs_ctx`) and can be started again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from aiohttp import web

from llmlog.proxy.errors import Conflict
from llmlog.proxy.query.export_format import ExportStopped, FieldSet, write_export
from llmlog.proxy.query.timeparse import now_ms
from llmlog.store.batches import EVERY_ROW, RowWindow
from llmlog.store.claims import export_claim
from llmlog.store.filters import LogFilter
from llmlog.store.interface import Store, StoreError
from llmlog.store.runner import StoreThread
from llmlog.store.sealing import SealedWriter

log = logging.getLogger("llmlog.export")
STILL_RUNNING_CHECK_S = 1.0  # how often a running export looks whether it was withdrawn meanwhile
SHUTDOWN_WAIT_S = 30.0


def _claimed(open_store: Callable[[], Store], job_id: str, fmt: str, now: int) -> Store | None:
    """A store of its own for the job (a long export never blocks API reads), holding the job's
    claim among every process sharing the store, with the job marked running; None when the job
    is running already, here or in another replica."""
    store = open_store()
    if store.try_exclusive(export_claim(job_id)) and store.start_job(job_id, store.export_path(job_id, fmt), now):
        return store
    store.close()
    return None


def export_file(store: Store, job_id: str, f: LogFilter, fields: FieldSet, fmt: str,
                stop: threading.Event, progress: Callable[[int], None], window: RowWindow = EVERY_ROW, *,
                check_every_s: float = STILL_RUNNING_CHECK_S) -> tuple[int, int | None, str]:
    """Runs on a worker thread. Writes beside the final name and renames, so a download never sees
    half a file. Returns the rows written, the oldest `started_at` they can include (read first: a
    call pruned meanwhile only makes it earlier, so retention never keeps the file too long) and
    where the file is. Only the rows in `window` (a job's row limit and offset) are written.
    Between batches, looks whether the job was withdrawn once `check_every_s` has passed since it
    last looked."""
    path = store.export_path(job_id, fmt)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part"
    checked = time.monotonic()

    def advance(rows: int) -> None:
        """Progress; and now and then, whether the job is still running: an erasure on another
        replica withdraws it, and the rest of its rows would be work thrown away."""
        nonlocal checked
        progress(rows)
        if time.monotonic() - checked >= check_every_s:
            checked = time.monotonic()
            job = store.get_job(job_id)
            if job is None or job["status"] != "running":
                raise ExportStopped("withdrawn while it ran")

    try:
        oldest = store.oldest_start(f)
        with open(partial, "wb") as out:
            if store.keyring is None:
                rows = write_export(store, f, fields, fmt, out, stop=stop, progress=advance, window=window)
            else:  # content encrypted at rest: so is the file, frame by frame (store/sealing.py)
                sealed = SealedWriter(out, store.keyring, job_id, store.export_chunk_bytes)
                rows = write_export(store, f, fields, fmt, sealed, stop=stop, progress=advance, window=window)
                sealed.close()
        os.replace(partial, path)
        return rows, oldest, path
    finally:
        with suppress(FileNotFoundError):
            os.remove(partial)


# export_file's signature: (store, job id, filter, fields, format, stop, progress, window) -> its outcome
ExportFile = Callable[[Store, str, LogFilter, FieldSet, str, threading.Event, Callable[[int], None], RowWindow],
                      tuple[int, int | None, str]]


def _finish(store: Store, job_id: str, outcome: tuple[int, int | None, str] | None, error: str | None,
            holds_content: bool) -> bool:
    """Record the outcome (and keep the file) with the job's own store, then let go of it."""
    try:
        rows, oldest, written = outcome or (None, None, None)
        return store.finish_job(job_id, rows, error, now_ms(), oldest_started_at=oldest,
                                holds_content=holds_content, written=written)
    finally:
        store.close()  # lets go of the job's claim


class JobRunner:
    """The export jobs this process is running: started as tasks, stopped cleanly at shutdown."""

    def __init__(self, open_store: Callable[[], Store], *, export_file: ExportFile = export_file):
        """`export_file` writes a job's file on a worker thread (a test passes one that lingers)."""
        self.open_store = open_store
        self.export_file = export_file
        self.running: dict[str, tuple[asyncio.Task, threading.Event]] = {}
        self.progress: dict[str, int] = {}

    async def start(self, job_id: str, log_filter: LogFilter, fields: FieldSet, fmt: str, now: int,
                    window: RowWindow = EVERY_ROW) -> None:
        """Run the job in the background; Conflict when it is running already, here or elsewhere."""
        if job_id in self.running:
            raise Conflict(f"export {job_id} is already running", "id")
        store = await asyncio.to_thread(_claimed, self.open_store, job_id, fmt, now)
        if store is None:
            raise Conflict(f"export {job_id} is already running", "id")
        stop = threading.Event()
        self.progress[job_id] = 0
        task = asyncio.create_task(self._run(store, job_id, log_filter, fields, fmt, window, stop),
                                   name=f"llmlog-export-{job_id}")
        self.running[job_id] = (task, stop)

    async def _run(self, store: Store, job_id: str, f: LogFilter, fields: FieldSet, fmt: str,
                   window: RowWindow, stop: threading.Event) -> None:
        def advance(rows: int) -> None:
            self.progress[job_id] = self.progress.get(job_id, 0) + rows

        outcome, error = None, None
        try:
            outcome = await asyncio.to_thread(self.export_file, store, job_id, f, fields, fmt, stop, advance,
                                              window)
        except ExportStopped as exc:
            error = str(exc)
        except Exception as exc:  # the job fails, the server does not
            log.exception("export %s failed", job_id)
            error = f"{type(exc).__name__}: {exc}"
        try:
            if not await asyncio.to_thread(_finish, store, job_id, outcome, error, bool(fields.content)):
                log.info("export %s was withdrawn while it ran (a user's calls were erased); its file "
                         "is removed", job_id)
        except Exception:  # left 'running' in the table; the next start turns it into a failure
            log.exception("export %s: could not record its outcome", job_id)
        finally:
            self.running.pop(job_id, None)
            self.progress.pop(job_id, None)

    async def stop_all(self, only: set[str] | None = None) -> set[asyncio.Task]:
        """Ask every running job (or those in `only`) to stop after its current batch and wait for
        each to record its outcome (and, if a user erasure withdrew it, remove its file); returns
        those still running after SHUTDOWN_WAIT_S."""
        tasks = []
        for job_id, (task, stop) in list(self.running.items()):
            if only is not None and job_id not in only:
                continue
            stop.set()
            tasks.append(task)
        if not tasks:
            return set()
        _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT_S)
        return pending

    async def close(self) -> None:
        for task in await self.stop_all():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def export_jobs_ctx(runner: JobRunner, writer_of: Callable[[web.Application], StoreThread]):
    """A cleanup_ctx: jobs a previous process left running are failures now (they can be started
    again); jobs running at shutdown stop after their current batch and are recorded as failures.

    `writer_of` finds the writer's store thread once the store context has opened it."""
    async def ctx(app: web.Application):
        try:
            interrupted = await writer_of(app).run(lambda store: store.fail_interrupted(now_ms()))
        except StoreError as exc:  # the store is away (a replica may start before its database): next start
            log.warning("export: could not look for jobs a restart interrupted (%s); the next start will", exc)
        else:
            if interrupted:
                log.warning("export: %d job(s) interrupted by a restart marked as failures", interrupted)
        yield
        await runner.close()

    return ctx
