"""Export (DESIGN §6): `GET /v1/logs/export` streams; `/v1/logs/exports…` is Portkey's job form
(seeds/004): create (draft) → start (running) → status (success | failure) → download.

Both read the store in keyset batches (store/batches.py), so memory stays flat however many rows.
A job's file is kept where every process sharing the store reads it (SQLite: `<db>.exports/<id>.<format>`;
PostgreSQL: in the database); a job left running by a process that died becomes a
failure at the next start and can be started again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from contextlib import suppress
from typing import Callable

from aiohttp import web
from multidict import MultiDict

from store.batches import BATCH_ROWS
from store.claims import export_claim
from store.filters import LogFilter
from store.interface import EXPORT_CHUNK_BYTES, Store, StoreError

from proxy.errors import ApiError
from proxy.query.export_format import (FORMATS, MEDIA_TYPES, ExportStopped, FieldSet, UnknownField, encoded_batch,
                             error_trailer, header, resolve_fields, write_export)
from proxy.forward.ids import new_call_id
from proxy.api.respond import json_object, json_response
from proxy.query.timeparse import now_ms
from proxy.api.openapi import Operation, describe
from proxy.query.params import FILTER_PARAMS, TIME_RANGE, Param, Query, parse_filter
from proxy.query.timeparse import TimeRangeError, iso_ms, parse_time, representable
from proxy.state import CONFIG, JOBS, READER, WRITER

log = logging.getLogger("llmlog.export")
EXPORT_PARAMS: tuple[Param, ...] = (
    Param("format", (), "str", "jsonl (default) or csv"),
    Param("fields", (), "list", "fields to include (comma list); default a standard set"),
)
JOB_BODY_KEYS = frozenset({"filters", "fields", "requested_data", "format"})
MAX_JOB_BODY_BYTES = 64 * 1024  # filters and a field list: a few hundred bytes in practice
SHUTDOWN_WAIT_S = 30.0


# ---- parameters -------------------------------------------------------------------------------

def _format(q: Query) -> str:
    fmt = (q.one("format") or "jsonl").lower()
    if fmt not in FORMATS:
        raise q.error("format", f"parameter {{}} must be jsonl or csv, got {fmt!r}")
    return fmt


def _fields(names: list[str] | None, param: str) -> FieldSet:
    try:
        return resolve_fields(names)
    except UnknownField as exc:
        raise ApiError(400, f"parameter '{param}': {exc}", param) from None


def _export_filter(q: Query, now: int) -> LogFilter:
    """Like the list's filter, but all time by default, and ending now so rows arriving during the
    export do not stretch it."""
    return parse_filter(q, now, default_window_ms=None, end_at_now=True)


def _filter_query(filters: dict, now: int) -> Query:
    """A job body's `filters` as the query parameters of GET /v1/logs (Portkey's
    `created_at: {gte, lte}` included); errors name `filters.<key>`."""
    raw: MultiDict[str] = MultiDict()
    for key, value in filters.items():
        if key == "created_at" and isinstance(value, dict):
            for op, text in value.items():
                if op not in ("gte", "gt", "lte", "lt") or not isinstance(text, str):
                    raise ApiError(400, f"filters.created_at.{op} must be a time under gte, gt, lte or lt",
                                   f"filters.created_at.{op}")
                try:
                    moment = parse_time(text, now)
                except TimeRangeError:
                    raise ApiError(400, f"filters.created_at.{op} must be a time {TIME_RANGE}, got {text!r}",
                                   f"filters.created_at.{op}") from None
                except ValueError:
                    raise ApiError(400, f"filters.created_at.{op} must be an ISO 8601 time, got {text!r}",
                                   f"filters.created_at.{op}") from None
                moment += 1 if op in ("gt", "lte") else 0  # our start is inclusive, our end exclusive
                if not representable(moment):  # `lte` the very last millisecond: no end after it
                    raise ApiError(400, f"filters.created_at.{op} must be a time {TIME_RANGE}, got {text!r}",
                                   f"filters.created_at.{op}")
                raw.add("start_date" if op in ("gte", "gt") else "end_date", iso_ms(moment))
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                raw.add(key, "true" if item else "false")
            elif isinstance(item, (str, int, float)):
                raw.add(key, str(item))
            else:
                raise ApiError(400, f"filters.{key} must be a string, number, boolean or a list of them",
                               f"filters.{key}")
    try:
        return Query(raw, FILTER_PARAMS)
    except ApiError as exc:
        raise ApiError(400, f"filters: {exc.message}", f"filters.{exc.param}") from None


def _job_filter(q: Query, now: int) -> LogFilter:
    try:
        return _export_filter(q, now)
    except ApiError as exc:
        raise ApiError(400, f"filters: {exc.message}", f"filters.{exc.param}") from None


def _pinned_filters(q: Query, f: LogFilter) -> dict:
    """The filters as stored with the job: canonical names, times made absolute at creation, so a
    re-run exports the same period."""
    pinned = {name: values for name, values in q.values.items() if name not in ("start_date", "end_date")}
    if f.start_ms is not None:
        pinned["start_date"] = [iso_ms(f.start_ms)]
    pinned["end_date"] = [iso_ms(f.end_ms)]
    return pinned


# ---- streaming --------------------------------------------------------------------------------

def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'


async def stream_export(request: web.Request) -> web.StreamResponse:
    q = Query(request.query, FILTER_PARAMS + EXPORT_PARAMS)
    now = now_ms()
    fmt, fields = _format(q), _fields(q.many("fields") or None, q.label("fields"))
    log_filter = _export_filter(q, now)
    reader = request.app[READER]
    # the first batch before the status line: a store that is away is a 503, not a 200 cut short
    first = await reader.run(lambda store: encoded_batch(store, log_filter, None, fields, fmt))
    response = web.StreamResponse(headers={
        "Content-Type": MEDIA_TYPES[fmt],
        "Content-Disposition": _attachment(f"llmlog-export-{iso_ms(now).replace(':', '')}.{fmt}"),
    })
    await response.prepare(request)
    try:
        await response.write(header(fields, fmt))
        chunk, after, rows = first
        while True:  # one batch per reader call: other API reads interleave between batches
            if rows:
                await response.write(chunk)  # waits while the client is slow: memory stays flat
            if rows < BATCH_ROWS:
                break
            chunk, after, rows = await reader.run(lambda store: encoded_batch(store, log_filter, after, fields, fmt))
        await response.write_eof()
    except ConnectionResetError:
        log.info("export: client went away")
    except Exception as exc:  # the status line is sent: say so in the body rather than cut it short
        log.exception("export stream failed")
        with suppress(ConnectionResetError):
            await response.write(error_trailer(fmt, f"export failed after it started: {type(exc).__name__}: {exc}"))
            await response.write_eof()
    return response


# ---- jobs -------------------------------------------------------------------------------------

STILL_RUNNING_CHECK_S = 1.0  # how often a running export looks whether it was withdrawn meanwhile


def _claimed(open_store: Callable[[], Store], job_id: str, fmt: str, now: int) -> Store | None:
    """A store of its own for the job (a long export never blocks API reads), holding the job's
    claim among every process sharing the store, with the job marked running; None when the job
    is running already, here or in another replica."""
    store = open_store()
    if store.try_exclusive(export_claim(job_id)) and store.start_job(job_id, store.export_path(job_id, fmt), now):
        return store
    store.close()
    return None


def _export_file(store: Store, job_id: str, f: LogFilter, fields: FieldSet, fmt: str,
                 stop: threading.Event, progress) -> tuple[int, int | None, str]:
    """Runs on a worker thread. Writes beside the final name and renames, so a download never sees
    half a file. Returns the rows written, the oldest `started_at` they can include (read first: a
    call pruned meanwhile only makes it earlier, so retention never keeps the file too long) and
    where the file is."""
    path = store.export_path(job_id, fmt)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part"
    checked = time.monotonic()

    def advance(rows: int) -> None:
        """Progress; and now and then, whether the job is still running: an erasure on another
        replica withdraws it, and the rest of its rows would be work thrown away."""
        nonlocal checked
        progress(rows)
        if time.monotonic() - checked >= STILL_RUNNING_CHECK_S:
            checked = time.monotonic()
            job = store.get_job(job_id)
            if job is None or job["status"] != "running":
                raise ExportStopped("withdrawn while it ran")

    try:
        oldest = store.oldest_start(f)
        with open(partial, "wb") as out:
            rows = write_export(store, f, fields, fmt, out, stop=stop, progress=advance)
        os.replace(partial, path)
        return rows, oldest, path
    finally:
        with suppress(FileNotFoundError):
            os.remove(partial)


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

    def __init__(self, open_store: Callable[[], Store]):
        self.open_store = open_store
        self.running: dict[str, tuple[asyncio.Task, threading.Event]] = {}
        self.progress: dict[str, int] = {}

    async def start(self, job: dict) -> None:
        job_id = job["id"]
        if job_id in self.running:
            raise ApiError(409, f"export {job_id} is already running", "id")
        now = now_ms()
        log_filter = _job_filter(_filter_query(job["filters"], now), now)
        fields = _fields(job["fields"], "fields")
        store = await asyncio.to_thread(_claimed, self.open_store, job_id, job["format"], now)
        if store is None:
            raise ApiError(409, f"export {job_id} is already running", "id")
        stop = threading.Event()
        self.progress[job_id] = 0
        task = asyncio.create_task(self._run(store, job_id, log_filter, fields, job["format"], stop),
                                   name=f"llmlog-export-{job_id}")
        self.running[job_id] = (task, stop)

    async def _run(self, store: Store, job_id: str, f: LogFilter, fields: FieldSet, fmt: str,
                   stop: threading.Event) -> None:
        def advance(rows: int) -> None:
            self.progress[job_id] = self.progress.get(job_id, 0) + rows

        outcome, error = None, None
        try:
            outcome = await asyncio.to_thread(_export_file, store, job_id, f, fields, fmt, stop, advance)
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


def present_job(job: dict, live_rows: int | None = None) -> dict:
    return {
        "id": job["id"],
        "object": "log_export",
        "status": job["status"],
        "format": job["format"],
        "fields": list(resolve_fields(job["fields"]).names),
        "filters": job["filters"],
        "rows": live_rows if live_rows is not None else job["rows"],
        "error": job["error"],
        "created_at": iso_ms(job["created_at"]),
        "updated_at": iso_ms(job["updated_at"]),
        "download_url": f"/v1/logs/exports/{job['id']}/download" if job["status"] == "success" else None,
    }


async def _job_or_404(request: web.Request) -> dict:
    job_id = request.match_info["export_id"]
    job = await request.app[READER].run(lambda store: store.get_job(job_id))
    if job is None:
        raise ApiError(404, f"no export with id {job_id!r}", "id")
    return job


async def _job_body(request: web.Request) -> dict:
    body = await json_object(request, MAX_JOB_BODY_BYTES, empty={})
    for key in body:
        if key not in JOB_BODY_KEYS:
            raise ApiError(400, f"unknown field '{key}'; expected filters, requested_data (or fields), format", key)
    return body


async def create_job(request: web.Request) -> web.Response:
    Query(request.query, ())
    body = await _job_body(request)
    now = now_ms()
    fmt = body.get("format", "jsonl")
    if fmt not in FORMATS:
        raise ApiError(400, f"format must be jsonl or csv, got {fmt!r}", "format")
    param = "requested_data" if "requested_data" in body else "fields"
    names = body.get(param)
    if isinstance(names, str):
        names = names.split(",")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ApiError(400, f"{param} must be a list of field names", param)
    fields = _fields(names or None, param)
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise ApiError(400, "filters must be an object of GET /v1/logs parameters", "filters")
    q = _filter_query(filters, now)
    pinned = _pinned_filters(q, _job_filter(q, now))
    names_kept = list(fields.names) if names else None
    job = await request.app[WRITER].run(lambda store: store.create_job(new_call_id(now), fmt, names_kept, pinned, now))
    return json_response(present_job(job), status=201)


async def start_job(request: web.Request) -> web.Response:
    Query(request.query, ())
    job = await _job_or_404(request)
    await request.app[JOBS].start(job)
    job = await request.app[READER].run(lambda store: store.get_job(job["id"]))
    return json_response(present_job(job, request.app[JOBS].progress.get(job["id"])), status=202)


async def get_job(request: web.Request) -> web.Response:
    Query(request.query, ())
    job = await _job_or_404(request)
    return json_response(present_job(job, request.app[JOBS].progress.get(job["id"])))


async def list_jobs(request: web.Request) -> web.Response:
    Query(request.query, ())
    jobs = await request.app[READER].run(lambda store: store.list_jobs())
    progress = request.app[JOBS].progress
    return json_response({"object": "list", "data": [present_job(j, progress.get(j["id"])) for j in jobs]})


async def download_job(request: web.Request) -> web.StreamResponse:
    Query(request.query, ())
    job = await _job_or_404(request)
    if job["status"] != "success":
        raise ApiError(409, f"export {job['id']} is {job['status']}; download it once its status is success", "id")
    job_id, reader = job["id"], request.app[READER]
    chunk = await reader.run(lambda store: store.read_export_chunk(job_id, 0))
    if chunk is None:
        raise ApiError(404, f"the file of export {job_id} is gone; start the export again", "id")
    response = web.StreamResponse(headers={
        "Content-Type": MEDIA_TYPES[job["format"]],
        "Content-Disposition": _attachment(f"llmlog-export-{job_id}.{job['format']}"),
    })
    await response.prepare(request)
    index = 0
    while chunk:  # read from whichever store holds it, one piece at a time: memory stays flat
        await response.write(chunk)
        if len(chunk) < EXPORT_CHUNK_BYTES:
            break
        index += 1
        chunk = await reader.run(lambda store: store.read_export_chunk(job_id, index))
        if chunk is None:  # withdrawn (erasure) or expired mid-download: cut it, never end it cleanly
            raise ConnectionResetError(f"the file of export {job_id} was removed during the download")
    await response.write_eof()
    return response


async def export_jobs_ctx(app: web.Application):
    """Jobs a previous process left running are failures now (they can be started again); jobs
    running at shutdown stop after their current batch and are recorded as failures."""
    runner = JobRunner(app[CONFIG].open_store)
    app[JOBS] = runner
    try:
        interrupted = await app[WRITER].run(lambda store: store.fail_interrupted(now_ms()))
    except StoreError as exc:  # the store is away (a replica may start before its database): next start
        log.warning("export: could not look for jobs a restart interrupted (%s); the next start will", exc)
    else:
        if interrupted:
            log.warning("export: %d job(s) interrupted by a restart marked as failures", interrupted)
    yield
    await runner.close()


JOB_BODY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "filters": {"type": "object", "description": "GET /v1/logs filter parameters by name; also "
                    "Portkey's created_at: {gte, gt, lte, lt}. Times are fixed when the job is created."},
        "requested_data": {"type": "array", "items": {"type": "string"}, "description": "fields to include"},
        "fields": {"type": "array", "items": {"type": "string"}, "description": "alias of requested_data"},
        "format": {"type": "string", "enum": list(FORMATS), "default": "jsonl"},
    },
}


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(export_jobs_ctx)
    app.router.add_get("/v1/logs/export", stream_export)
    app.router.add_post("/v1/logs/exports", create_job)
    app.router.add_get("/v1/logs/exports", list_jobs)
    app.router.add_get("/v1/logs/exports/{export_id}", get_job)
    app.router.add_post("/v1/logs/exports/{export_id}/start", start_job)
    app.router.add_get("/v1/logs/exports/{export_id}/download", download_job)
    describe(
        app,
        Operation("GET", "/v1/logs/export", "Stream every matching call as JSONL or CSV (all time unless "
                  "start_date is given; ends at the request time). CSV text cells starting with =, +, -, @, "
                  "tab or CR get a leading ' so a spreadsheet shows them instead of running them. A stream "
                  "that fails after it started ends with a last line saying so: JSONL "
                  "{\"error\": {\"message\", \"type\": \"export_error\"}}, CSV '# error: <message>'.",
                  FILTER_PARAMS + EXPORT_PARAMS),
        Operation("POST", "/v1/logs/exports", "Create an export job (status draft).", body=JOB_BODY_SCHEMA,
                  responses={"201": {"description": "the job"}}),
        Operation("GET", "/v1/logs/exports", "Export jobs, newest first."),
        Operation("GET", "/v1/logs/exports/{export_id}", "One export job: status draft, running, success "
                  "or failure, and the rows written."),
        Operation("POST", "/v1/logs/exports/{export_id}/start", "Run (or re-run) an export job in the background.",
                  responses={"202": {"description": "the job, now running"},
                             "409": {"description": "already running"}}),
        Operation("GET", "/v1/logs/exports/{export_id}/download", "The finished export file.",
                  responses={"200": {"description": "the file"},
                             "409": {"description": "the job has not succeeded"}}),
    )
