"""The logs query API under /v1/logs (DESIGN §6): handlers parse, call store queries, shape JSON."""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response, not_found
from llmlog.proxy.query.params import FILTER_PARAMS, INCLUDE_TOTAL, PAGE_PARAMS, Query, parse_filter, parse_page
from llmlog.proxy.query.present import listed_with_previews, present_entry, present_page
from llmlog.proxy.query.timeparse import now_ms
from llmlog.proxy.state import CONFIG, READER
from llmlog.store.filters import CursorError
from llmlog.store.rows import CallRow, ContentRow

# the entry's fields are DESIGN §4's; described here, the two paths a replay of the call needs
ENTRY_SCHEMA = {"type": "object", "properties": {
    "path": {"type": "string", "description": "the path sent to the provider (llmlog's prefix for it stripped)"},
    "proxy_path": {"type": ["string", "null"], "description":
                   "the path to send to llmlog to reach the same provider: its configured prefix + `path` "
                   "(`/anthropic/v1/messages`); null when no configured provider has the call's `provider` name"},
}}


async def list_logs(request: web.Request) -> web.Response:
    q = Query(request.query, FILTER_PARAMS + PAGE_PARAMS + (INCLUDE_TOTAL,))
    log_filter, page = parse_filter(q, now_ms()), parse_page(q)
    try:
        result, previews = await request.app[READER].run(lambda store: listed_with_previews(store, log_filter, page))
    except CursorError as exc:
        raise q.error("cursor", f"parameter {{}}: {exc}") from None
    return json_response(present_page(result, page, previews, request.app[CONFIG].api_key_names))


async def whole_entry(request: web.Request, call_id: str) -> tuple[CallRow, ContentRow | None]:
    """One stored call with its content, for a route that takes no query parameters; 404 when unknown."""
    Query(request.query, ())
    found = await request.app[READER].run(lambda store: store.get_log(call_id))
    if found is None:
        raise not_found(call_id)
    return found


async def get_log(request: web.Request) -> web.Response:
    row, content = await whole_entry(request, request.match_info["call_id"])
    config = request.app[CONFIG]
    return json_response(present_entry(row, content, config.api_key_names, config.providers))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/logs", list_logs)
    app.router.add_get("/v1/logs/{call_id}", get_log)
    describe(app,
             Operation("GET", "/v1/logs", "List logged calls: filters, sorting, offset or cursor pages.",
                       FILTER_PARAMS + PAGE_PARAMS + (INCLUDE_TOTAL,)),
             Operation("GET", "/v1/logs/{call_id}", "One logged call, whole (content unless do-not-track).",
                       responses={"200": {"description": "the entry (DESIGN §4 fields), with:", "content": {
                           "application/json": {"schema": ENTRY_SCHEMA}}}}))
