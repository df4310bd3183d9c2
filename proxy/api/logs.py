"""The logs query API under /v1/logs (DESIGN §6): handlers parse, call store queries, shape JSON."""

from __future__ import annotations

import time

import orjson
from aiohttp import web

from store.filters import CursorError
from store.runner import StoreThread

from ..pipeline import Pipeline

from ..errors import ApiError
from .openapi import Operation, describe
from .params import FILTER_PARAMS, PAGE_PARAMS, Query, parse_filter, parse_page
from .present import present_entry, present_page

READER = web.AppKey("reader", StoreThread)
# the pipeline's writer: the one thread that writes (feedback, erasure, retention)
WRITER = web.AppKey("writer", StoreThread)
PIPELINE = web.AppKey("pipeline", Pipeline)


def json_response(payload, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def now_ms() -> int:
    return int(time.time() * 1000)


async def list_logs(request: web.Request) -> web.Response:
    q = Query(request.query, FILTER_PARAMS + PAGE_PARAMS)
    log_filter, page = parse_filter(q, now_ms()), parse_page(q)
    try:
        result = await request.app[READER].run(lambda store: store.list_logs(log_filter, page))
    except CursorError as exc:
        raise q.error("cursor", f"parameter {{}}: {exc}") from None
    return json_response(present_page(result, page))


async def json_object(request: web.Request, limit: int, *, empty: dict | None = None) -> dict:
    """The request body as a JSON object, read with a size cap (413 beyond it); an empty body is
    `empty` when given, else a 400 like any body that is not a JSON object."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body is larger than {limit} bytes", "body")
    raw = b""
    while chunk := await request.content.read(limit + 1 - len(raw)):  # a body may arrive in pieces
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes", "body")
    if not raw.strip() and empty is not None:
        return dict(empty)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "request body must be a JSON object", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object", "body")
    return body


def not_found(call_id: str) -> ApiError:
    return ApiError(404, f"no log entry with id {call_id!r}", "id")


async def get_log(request: web.Request) -> web.Response:
    Query(request.query, ())
    call_id = request.match_info["call_id"]
    found = await request.app[READER].run(lambda store: store.get_log(call_id))
    if found is None:
        raise not_found(request.match_info["call_id"])
    row, content = found
    return json_response(present_entry(row, content))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/logs", list_logs)
    app.router.add_get("/v1/logs/{call_id}", get_log)
    describe(app,
             Operation("GET", "/v1/logs", "List logged calls: filters, sorting, offset or cursor pages.",
                       FILTER_PARAMS + PAGE_PARAMS),
             Operation("GET", "/v1/logs/{call_id}", "One logged call, whole (content unless do-not-track)."))
