"""PromptShuttle's invocation log routes (seeds/001) under /api/v1/llm-logs: each parses with
promptshuttle_logs.py, reads through the same store calls as /v1/logs, and answers its shapes."""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.api.entries import read_events, read_hierarchy
from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.api.seeds import promptshuttle_logs as ps
from llmlog.proxy.query.params import Query
from llmlog.proxy.query.timeparse import now_ms
from llmlog.proxy.state import CONFIG, FORWARDER, READER
from llmlog.store.filters import CursorError
from llmlog.store.interface import Store

BASE = "/api/v1/llm-logs"
# what a list shows of each call's content: messages and parameters (request body), the answer
PAGE_CONTENT = ("request_body", "output_text", "tool_calls", "citations")


def _page(store: Store, query: ps.LogQuery):
    """On the reader thread: the page of stored calls, and the content of those that kept it."""
    result = store.list_logs(query.f, query.page)
    ids = [row["id"] for row in result.rows if row["has_content"]]
    return result, store.contents(ids, PAGE_CONTENT) if ids else {}


async def list_logs(request: web.Request) -> web.Response:
    query = ps.parse_query(request.query, now_ms())
    credits = request.app[CONFIG].logs_api.credits_per_usd
    in_flight = request.app[FORWARDER].in_flight
    pending = ps.pending_calls(in_flight.values(), query.f) if query.pending else []
    if not query.stored:
        shown = [ps.pending_entry(call) for call in pending[:query.page.limit]]
        return json_response(ps.list_answer(shown, len(pending), False, None))  # no cursor into calls in flight
    # calls in flight take places of the page (pageSize bounds it), leaving one at least to the stored
    # calls, so the page has a row to carry the cursor on from; every one of them is counted
    shown = [ps.pending_entry(call) for call in pending[:query.page.limit - 1]]
    query.page.limit -= len(shown)
    try:
        result, contents = await request.app[READER].run(lambda store: _page(store, query))
    except CursorError as exc:
        raise Query(request.query, ps.PARAMS).error("cursor", f"parameter {{}}: {exc}") from None
    items = shown + [ps.log_entry(row, contents.get(row["id"]), credits) for row in result.rows]
    return json_response(ps.list_answer(items, result.total + len(pending), result.has_more, result.next_cursor))


async def get_hierarchy(request: web.Request) -> web.Response:
    return json_response(ps.hierarchy_answer(await read_hierarchy(request)))


async def get_events(request: web.Request) -> web.Response:
    q = Query(request.query, ps.EVENTS_PARAMS)
    _, events = await read_events(request)
    return json_response(ps.events_answer(request.match_info["call_id"], events, set(q.many("types")) or None))


async def get_event_stats(request: web.Request) -> web.Response:
    Query(request.query, ())
    _, events = await read_events(request)
    return json_response(ps.event_stats_answer(request.match_info["call_id"], events))


async def get_log_entries(request: web.Request) -> web.Response:
    await read_hierarchy(request)  # 404 for an unknown id, as the other routes
    return json_response(ps.log_entries_answer(request.match_info["call_id"]))


def add_routes(app: web.Application) -> None:
    app.router.add_get(BASE, list_logs)
    app.router.add_get(BASE + "/{call_id}/hierarchy", get_hierarchy)
    app.router.add_get(BASE + "/{call_id}/events", get_events)
    app.router.add_get(BASE + "/{call_id}/events/stats", get_event_stats)
    app.router.add_get(BASE + "/{call_id}/log-entries", get_log_entries)
    describe(app,
             Operation("GET", BASE, "PromptShuttle's invocation log: calls newest first, cursor pages; calls in "
                       "flight on this replica first, as Pending (first page).", ps.DOCUMENTED),
             Operation("GET", BASE + "/{call_id}/hierarchy", "Breadcrumb (root to this request), parent, children."),
             Operation("GET", BASE + "/{call_id}/events", "The SSE events of a streamed request, by type.",
                       ps.EVENTS_PARAMS),
             Operation("GET", BASE + "/{call_id}/events/stats", "How many events of each type a request streamed."),
             Operation("GET", BASE + "/{call_id}/log-entries",
                       "Always empty, with a note: llmlog keeps no internal log entries per request."))
