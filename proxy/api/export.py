"""Export (DESIGN §6): `GET /v1/logs/export` streams; `/v1/logs/exports…` is Portkey's job form
(seeds/004): create (draft) → start (running) → status (success | failure) → download (`{"url"}`,
a URL of the file that works without the logs API key for an hour) → file. What is Portkey's
own there (options, field names, the download answer) is translated in proxy/api/seeds/portkey_export.py.

Both read the store in keyset batches (store/batches.py), so memory stays flat however many rows.
A job runs in the background (proxy/pipeline/export_jobs.py); its file is kept where every process
sharing the store reads it (SQLite: `<db>.exports/<id>.<format>`; PostgreSQL: in the database).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict

from llmlog.proxy.access.client_address import trusted_peer
from llmlog.proxy.access.signed_urls import UrlSigner, file_path
from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_object, json_response
from llmlog.proxy.api.seeds.portkey_export import (
    OPTION_KEYS,
    download_answer,
    job_options,
    portkey_job_fields,
    row_window,
)
from llmlog.proxy.errors import Conflict, NotFound, ValidationError
from llmlog.proxy.ids import new_call_id
from llmlog.proxy.query.export_format import (
    ALIASES,
    DEFAULT_FIELDS,
    FIELDS,
    FORMATS,
    MEDIA_TYPES,
    PORTKEY_FIELDS,
    Encoder,
    FieldSet,
    UnknownField,
    encoded_batch,
    encoder,
    format_problem,
    resolve_fields,
)
from llmlog.proxy.query.params import FILTER_PARAMS, TIME_RANGE, Param, Query, parse_filter
from llmlog.proxy.query.timeparse import TimeRangeError, iso_ms, now_ms, parse_time, representable
from llmlog.proxy.state import CONFIG, JOBS, READER, TRUSTED_PROXIES, WRITER
from llmlog.store.batches import BATCH_ROWS
from llmlog.store.filters import LogFilter
from llmlog.store.interface import Position, Store

log = logging.getLogger("llmlog.export")
EXPORT_PARAMS: tuple[Param, ...] = (
    Param("format", (), "str", "jsonl (default), json (one array), csv or parquet (needs llmlog[parquet])"),
    Param("fields", (), "list", "fields to include (comma list); default a standard set"),
)
JOB_BODY_KEYS = frozenset({"filters", "fields", "requested_data", "format", *OPTION_KEYS})
FILE_PARAMS: tuple[Param, ...] = (
    Param("expires", (), "str", "when a signed URL stops working (unix seconds); set by …/download"),
    Param("signature", (), "str", "the URL's signature; set by …/download"),
)
MAX_JOB_BODY_BYTES = 64 * 1024  # filters and a field list: a few hundred bytes in practice


# ---- parameters -------------------------------------------------------------------------------

def _format(q: Query) -> str:
    fmt = (q.one("format") or "jsonl").lower()
    problem = format_problem(fmt)
    if problem is not None:
        raise q.error("format", f"parameter {{}}: {problem}")
    return fmt


def _fields(names: list[str] | None, param: str) -> FieldSet:
    try:
        return resolve_fields(names)
    except UnknownField as exc:
        raise ValidationError.naming(param, f"parameter {{}}: {exc}") from None


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
                    raise ValidationError(f"filters.created_at.{op} must be a time under gte, gt, lte or lt",
                                          f"filters.created_at.{op}")
                try:
                    moment = parse_time(text, now)
                except TimeRangeError:
                    raise ValidationError(f"filters.created_at.{op} must be a time {TIME_RANGE}, got {text!r}",
                                          f"filters.created_at.{op}") from None
                except ValueError:
                    raise ValidationError(f"filters.created_at.{op} must be an ISO 8601 time, got {text!r}",
                                          f"filters.created_at.{op}") from None
                moment += 1 if op in ("gt", "lte") else 0  # our start is inclusive, our end exclusive
                if not representable(moment):  # `lte` the very last millisecond: no end after it
                    raise ValidationError(f"filters.created_at.{op} must be a time {TIME_RANGE}, got {text!r}",
                                          f"filters.created_at.{op}")
                raw.add("start_date" if op in ("gte", "gt") else "end_date", iso_ms(moment))
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                raw.add(key, "true" if item else "false")
            elif isinstance(item, (str, int, float)):
                raw.add(key, str(item))
            else:
                raise ValidationError(f"filters.{key} must be a string, number, boolean or a list of them",
                                      f"filters.{key}")
    try:
        return Query(raw, FILTER_PARAMS)
    except ValidationError as exc:
        raise _in_filters(exc) from None


def _job_filter(q: Query, now: int) -> LogFilter:
    try:
        return _export_filter(q, now)
    except ValidationError as exc:
        raise _in_filters(exc) from None


def _in_filters(exc: ValidationError) -> ValidationError:
    """An error of a job body's `filters`, named as such."""
    return ValidationError(f"filters: {exc.message}", f"filters.{exc.param}")


def _pinned_filters(q: Query, f: LogFilter) -> dict:
    """The filters as stored with the job: canonical names, times made absolute at creation, so a
    re-run exports the same period."""
    pinned = {name: values for name, values in q.values.items() if name not in ("start_date", "end_date")}
    if f.start_ms is not None:
        pinned["start_date"] = [iso_ms(f.start_ms)]
    assert f.end_ms is not None  # an export's period ends now when no end is given (_export_filter)
    pinned["end_date"] = [iso_ms(f.end_ms)]
    return pinned


# ---- streaming --------------------------------------------------------------------------------

def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'


def _batch_reader(log_filter: LogFilter, after: Position | None, fields: FieldSet,
                  out: Encoder) -> Callable[[Store], tuple[bytes, Position | None, int]]:
    """A store function encoding the batch after `after` (bound now, not when the reader calls it)."""
    return lambda store: encoded_batch(store, log_filter, after, fields, out)


async def stream_export(request: web.Request) -> web.StreamResponse:
    q = Query(request.query, FILTER_PARAMS + EXPORT_PARAMS)
    now = now_ms()
    fmt, fields = _format(q), _fields(q.many("fields") or None, q.label("fields"))
    log_filter = _export_filter(q, now)
    reader = request.app[READER]
    out = encoder(fields, fmt)
    head = out.start()
    # the first batch before the status line: a store that is away is a 503, not a 200 cut short
    first = await reader.run(_batch_reader(log_filter, None, fields, out))
    response = web.StreamResponse(headers={
        "Content-Type": MEDIA_TYPES[fmt],
        "Content-Disposition": _attachment(f"llmlog-export-{iso_ms(now).replace(':', '')}.{fmt}"),
    })
    await response.prepare(request)
    try:
        await response.write(head)
        chunk, after, rows = first
        while True:  # one batch per reader call: other API reads interleave between batches
            if chunk:
                await response.write(chunk)  # waits while the client is slow: memory stays flat
            if rows < BATCH_ROWS:
                break
            chunk, after, rows = await reader.run(_batch_reader(log_filter, after, fields, out))
        await response.write(out.end())
        await response.write_eof()
    except ConnectionResetError:
        log.info("export: client went away")
    except Exception as exc:  # the status line is sent: say so in the body rather than cut it short
        log.exception("export stream failed")
        with suppress(ConnectionResetError):
            await response.write(out.failed(f"export failed after it started: {type(exc).__name__}: {exc}"))
            await response.write_eof()
    return response


# ---- jobs -------------------------------------------------------------------------------------

def present_job(job: dict, live_rows: int | None = None) -> dict:
    fields = list(resolve_fields(job["fields"]).names)
    return {
        "id": job["id"],
        "object": "log_export",
        "status": job["status"],
        "format": job["format"],
        "fields": fields,
        "filters": job["filters"],
        "rows": live_rows if live_rows is not None else job["rows"],
        "error": job["error"],
        "created_at": iso_ms(job["created_at"]),
        "updated_at": iso_ms(job["updated_at"]),
        # the file itself, with the logs API key (…/download answers a URL that needs none)
        "download_url": file_path(job["id"]) if job["status"] == "success" else None,
        **portkey_job_fields(job, fields),
    }


async def _job_or_404(request: web.Request) -> dict:
    job_id = request.match_info["export_id"]
    job = await request.app[READER].run(lambda store: store.get_job(job_id))
    if job is None:
        raise NotFound(f"no export with id {job_id!r}", "id")
    return job


async def _job_body(request: web.Request) -> dict:
    body = await json_object(request, MAX_JOB_BODY_BYTES, empty={})
    for key in body:
        if key not in JOB_BODY_KEYS:
            raise ValidationError(f"unknown field '{key}'; expected filters, requested_data (or fields), format, "
                                  f"{', '.join(OPTION_KEYS)}", key)
    return body


async def create_job(request: web.Request) -> web.Response:
    Query(request.query, ())
    body = await _job_body(request)
    now = now_ms()
    fmt = body.get("format", "jsonl")
    problem = format_problem(fmt) if isinstance(fmt, str) else f"must be a string, got {fmt!r}"
    if problem is not None:
        raise ValidationError(f"format {problem}", "format")
    param = "requested_data" if "requested_data" in body else "fields"
    names = body.get(param)
    if isinstance(names, str):
        names = names.split(",")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ValidationError(f"{param} must be a list of field names", param)
    fields = _fields(names or None, param)
    filters = body.get("filters")
    filters = {} if filters is None else filters  # [] or "" is no object of filters: a 400, not all calls
    if not isinstance(filters, dict):
        raise ValidationError("filters must be an object of GET /v1/logs parameters", "filters")
    options = job_options(body)
    q = _filter_query(filters, now)
    pinned = _pinned_filters(q, _job_filter(q, now))
    names_kept = list(fields.names) if names else None
    job = await request.app[WRITER].run(
        lambda store: store.create_job(new_call_id(now), fmt, names_kept, pinned, now, options))
    return json_response(present_job(job), status=201)


async def start_job(request: web.Request) -> web.Response:
    Query(request.query, ())
    job = await _job_or_404(request)
    now = now_ms()
    log_filter = _job_filter(_filter_query(job["filters"], now), now)
    await request.app[JOBS].start(job["id"], log_filter, _fields(job["fields"], "fields"), job["format"], now,
                                  row_window(job["options"]))
    job = await _job_or_404(request)  # read again: now running
    return json_response(present_job(job, request.app[JOBS].progress.get(job["id"])), status=202)


async def get_job(request: web.Request) -> web.Response:
    Query(request.query, ())
    job = await _job_or_404(request)
    return json_response(present_job(job, request.app[JOBS].progress.get(job["id"])))


async def list_jobs(request: web.Request) -> web.Response:
    Query(request.query, ())
    jobs = await request.app[READER].run(lambda store: store.list_jobs())
    progress = request.app[JOBS].progress
    return json_response({"object": "list", "total": len(jobs),
                          "data": [present_job(j, progress.get(j["id"])) for j in jobs]})


def _chunk_reader(job_id: str, index: int) -> Callable[[Store], bytes | None]:
    """A store function reading chunk `index` of the job's file (the index bound now, not at the call)."""
    return lambda store: store.read_export_chunk(job_id, index)


def _origin(request: web.Request) -> str:
    """This server as the client reached it (the Host was checked by the guard). A TLS-terminating
    load balancer says https in X-Forwarded-Proto, believed from a trusted proxy alone
    (`server.trusted_proxies`), as X-Forwarded-For is."""
    scheme = request.scheme
    if trusted_peer(request.remote, request.app[TRUSTED_PROXIES]):
        forwarded = request.headers.get("X-Forwarded-Proto", "").partition(",")[0].strip().lower()
        scheme = forwarded if forwarded in ("http", "https") else scheme
    return f"{scheme}://{request.host}"


async def _finished_job(request: web.Request) -> dict:
    job = await _job_or_404(request)
    if job["status"] != "success":
        raise Conflict(f"export {job['id']} is {job['status']}; download it once its status is success", "id")
    return job


async def download_job(request: web.Request) -> web.Response:
    """Portkey's download answer: a URL of the file, signed so it works without the logs API key
    (seeds/004 fetches it with a bare `requests.get`); never the key itself."""
    Query(request.query, ())
    job = await _finished_job(request)
    now_s = now_ms() // 1000
    signed = UrlSigner(request.app[CONFIG].logs_api.api_keys).query(job["id"], now_s)
    url = _origin(request) + file_path(job["id"]) + (f"?{urlencode(signed)}" if signed else "")
    return json_response(download_answer(url, int(signed["expires"]) if signed else None))


async def file_job(request: web.Request) -> web.StreamResponse:
    """The finished file, streamed; reached with the logs API key or a URL …/download signed."""
    Query(request.query, FILE_PARAMS)  # the signature is checked by the guard, before any handler
    job = await _finished_job(request)
    job_id, reader = job["id"], request.app[READER]
    # the store's chunk size beside the first chunk: a chunk shorter than it is the last
    chunk_bytes, chunk = await reader.run(
        lambda store: (store.export_chunk_bytes, store.read_export_chunk(job_id, 0)))
    if chunk is None:
        raise NotFound(f"the file of export {job_id} is gone; start the export again", "id")
    response = web.StreamResponse(headers={
        "Content-Type": MEDIA_TYPES[job["format"]],
        "Content-Disposition": _attachment(f"llmlog-export-{job_id}.{job['format']}"),
    })
    await response.prepare(request)
    index = 0
    while chunk:  # read from whichever store holds it, one piece at a time: memory stays flat
        await response.write(chunk)
        if len(chunk) < chunk_bytes:
            break
        index += 1
        chunk = await reader.run(_chunk_reader(job_id, index))
        if chunk is None:  # withdrawn (erasure) or expired mid-download: cut it, never end it cleanly
            raise ConnectionResetError(f"the file of export {job_id} was removed during the download")
    await response.write_eof()
    return response


# the names a field list takes: llmlog's own (the logs page offers these), then Portkey's
FIELD_NAME_SCHEMA = {"type": "string", "anyOf": [
    {"title": "llmlog's fields, named as in GET /v1/logs entries", "enum": list(FIELDS)},
    {"title": "Portkey's field names (seeds/004)", "enum": [*ALIASES, *PORTKEY_FIELDS]},
]}
JOB_BODY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "filters": {"type": "object", "description": "GET /v1/logs filter parameters by name; also "
                    "Portkey's created_at: {gte, gt, lte, lt}. Times are fixed when the job is created."},
        "requested_data": {"type": "array", "items": FIELD_NAME_SCHEMA, "default": list(DEFAULT_FIELDS),
                           "description": "fields to include, in this order"},
        "fields": {"type": "array", "items": FIELD_NAME_SCHEMA, "default": list(DEFAULT_FIELDS),
                   "description": "alias of requested_data"},
        "format": {"type": "string", "enum": list(FORMATS), "default": "jsonl"},
        "limit": {"type": "integer", "minimum": 1, "description": "at most this many rows (Portkey's logs limit)"},
        "offset": {"type": "integer", "minimum": 0, "description": "skip this many matching rows first, oldest "
                   "first"},
        "description": {"type": "string", "description": "kept and shown with the job"},
        "workspace_id": {"type": "string", "description": "Portkey's; llmlog has one workspace: kept and echoed"},
    },
}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/logs/export", stream_export)
    app.router.add_post("/v1/logs/exports", create_job)
    app.router.add_get("/v1/logs/exports", list_jobs)
    app.router.add_get("/v1/logs/exports/{export_id}", get_job)
    app.router.add_post("/v1/logs/exports/{export_id}/start", start_job)
    app.router.add_get("/v1/logs/exports/{export_id}/download", download_job)
    app.router.add_get("/v1/logs/exports/{export_id}/file", file_job)
    describe(
        app,
        Operation("GET", "/v1/logs/export", "Stream every matching call (all time unless start_date is "
                  "given; ends at the request time) as JSONL, a JSON array, CSV or Parquet (one row group per "
                  "batch of 1000; needs llmlog[parquet], else 400). CSV text cells starting with =, +, -, @, "
                  "tab or CR get a leading ' so a spreadsheet shows them instead of running them. A stream "
                  "that fails after it started ends with a last line saying so: JSONL "
                  "{\"error\": {\"message\", \"type\": \"export_error\"}}, JSON that object as the array's last "
                  "element, CSV '# error: <message>', Parquet no footer (unreadable).",
                  FILTER_PARAMS + EXPORT_PARAMS),
        Operation("POST", "/v1/logs/exports", "Create an export job (status draft). Portkey's body works as "
                  "its document writes it: filters.created_at {gte, lte} (both inclusive), requested_data with "
                  "Portkey's field names (cost is in US cents, cost_currency USD; config and prompt_slug are "
                  "null: llmlog has neither).", body=JOB_BODY_SCHEMA,
                  responses={"201": {"description": "the job"}}),
        Operation("GET", "/v1/logs/exports", "Export jobs, newest first."),
        Operation("GET", "/v1/logs/exports/{export_id}", "One export job: status draft, running, success "
                  "or failure, and the rows written."),
        Operation("POST", "/v1/logs/exports/{export_id}/start", "Run (or re-run) an export job in the background.",
                  responses={"202": {"description": "the job, now running"},
                             "409": {"description": "already running"}}),
        Operation("GET", "/v1/logs/exports/{export_id}/download", "A URL of the finished export file "
                  "(Portkey's signed download URL): {url, signed_url, expires_at}. With logs API keys "
                  "configured the URL is signed and works without a key until expires_at (an hour); "
                  "without, it is the plain file URL.",
                  responses={"200": {"description": "{url, signed_url, expires_at}"},
                             "409": {"description": "the job has not succeeded"}}),
        Operation("GET", "/v1/logs/exports/{export_id}/file", "The finished export file, with the logs API "
                  "key or through a URL …/download signed (expires, signature).", FILE_PARAMS,
                  responses={"200": {"description": "the file"},
                             "401": {"description": "no key, and no valid unexpired signature"},
                             "409": {"description": "the job has not succeeded"}}),
    )
