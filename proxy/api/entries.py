"""Routes about one entry beyond the entry itself: hierarchy, stream events, feedback (DESIGN §6)."""

from __future__ import annotations

import math

from aiohttp import web

from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_object, json_response, not_found
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.query.params import Param, Query
from llmlog.proxy.query.present import cost_usd_of, micros_of_nanos, present_events, usd_of_nanos
from llmlog.proxy.query.stream_events import events_of
from llmlog.proxy.query.timeparse import iso_ms, now_ms
from llmlog.proxy.state import READER, WRITER
from llmlog.store.interface import Hierarchy, StoredEvents
from llmlog.store.rows import CallNode

MAX_FEEDBACK_BYTES = 64 * 1024
MAX_COMMENT_CHARS = 10_000
EVENTS_PARAMS = (Param("types", ("type",), "list", "event names to keep (comma list); default all"),)


def present_node(node: CallNode) -> dict:
    return {"id": node["id"], "parent_id": node["parent_id"], "root_id": node["root_id"], "depth": node["depth"],
            "timestamp": iso_ms(node["started_at"]), "model": node["model"], "status": node["status"],
            "duration_ms": node["duration_ms"], "total_tokens": node["total_tokens"],
            "cost_usd": cost_usd_of(node)}


async def read_hierarchy(request: web.Request) -> Hierarchy:
    """The tree around the route's `{call_id}` (404 when no such call); the route takes no parameters."""
    Query(request.query, ())
    call_id = request.match_info["call_id"]
    found = await request.app[READER].run(lambda store: store.hierarchy(call_id))
    if found is None:
        raise not_found(call_id)
    return found


async def read_events(request: web.Request) -> tuple[StoredEvents, list[list]]:
    """The stored stream events of the route's `{call_id}`, split (404 when no such call)."""
    call_id = request.match_info["call_id"]
    found = await request.app[READER].run(lambda store: _split_events(store.events(call_id)))
    if found is None:
        raise not_found(call_id)
    return found


async def get_hierarchy(request: web.Request) -> web.Response:
    found = await read_hierarchy(request)
    node = found.node
    return json_response({
        "id": node["id"],
        "root_id": node["root_id"],
        "depth": node["depth"],
        "breadcrumb": [present_node(n) for n in found.breadcrumb],
        "parent": present_node(found.parent) if found.parent else None,
        "children": [present_node(n) for n in found.children],
        "children_total": found.children_total,
        "tree": {
            "root_id": node["root_id"],
            "calls": found.tree_calls,
            "cost_usd": usd_of_nanos(found.tree_cost_nanos),
            "cost_micros": micros_of_nanos(found.tree_cost_nanos),
            "unpriced_calls": found.tree_unpriced_calls,
            "max_depth": found.tree_max_depth,
        },
    })


async def get_events(request: web.Request) -> web.Response:
    q = Query(request.query, EVENTS_PARAMS)
    types = set(q.many("types")) or None
    stored, events = await read_events(request)
    listed = present_events(events, types)
    return json_response({"id": request.match_info["call_id"], "stream": stored.stream,
                          "has_content": stored.has_content, "count": len(listed), "events": listed})


def _split_events(stored: StoredEvents | None) -> tuple[StoredEvents, list[list]] | None:
    """On the reader's thread: a long stream's body is re-split there, never on the event loop."""
    return None if stored is None else (stored, events_of(stored))


def parse_feedback(body: dict) -> dict:
    """Validated feedback: `score` a finite number (required), `comment` a string (optional). Pure."""
    unknown = sorted(set(body) - {"score", "comment"})
    if unknown:
        raise ValidationError(f"unknown field '{unknown[0]}' (allowed: score, comment)", unknown[0])
    score = body.get("score")
    if score is None:
        raise ValidationError("field 'score' is required", "score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ValidationError("field 'score' must be a number", "score")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ValidationError("field 'comment' must be a string", "comment")
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError(f"field 'comment' is longer than {MAX_COMMENT_CHARS} characters", "comment")
    return {"score": score, "comment": comment}


async def post_feedback(request: web.Request) -> web.Response:
    Query(request.query, ())
    call_id = request.match_info["call_id"]
    feedback = parse_feedback(await json_object(request, MAX_FEEDBACK_BYTES))
    feedback["updated_at"] = iso_ms(now_ms())
    if not await request.app[WRITER].run(lambda store: store.set_feedback(call_id, feedback)):
        raise not_found(call_id)
    return json_response({"id": call_id, "feedback": feedback})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/logs/{call_id}/hierarchy", get_hierarchy)
    app.router.add_get("/v1/logs/{call_id}/events", get_events)
    app.router.add_post("/v1/logs/{call_id}/feedback", post_feedback)
    describe(app,
             Operation("GET", "/v1/logs/{call_id}/hierarchy",
                       "Breadcrumb (root to this call), parent, children and tree totals."),
             Operation("GET", "/v1/logs/{call_id}/events", "SSE events of a streamed call with arrival offsets.",
                       EVENTS_PARAMS),
             Operation("POST", "/v1/logs/{call_id}/feedback", "Attach a score and comment to a call.",
                       body={"type": "object", "required": ["score"],
                             "properties": {"score": {"type": "number"}, "comment": {"type": "string"}}}))
