"""PromptShuttle's invocation log (seeds/001) as translations over llmlog's own: its query
parameters into a LogFilter and Page (the ones GET /v1/logs uses), and stored rows, calls in
flight, trees and events into its camelCase fields. Pure: parameters in, dicts out.

Names and values: `statuses` are `Succeeded` (llmlog's `success`), `Failed` (`error`, `timeout`,
`client_closed`) and `Pending` (a call this process is forwarding now: llmlog stores calls once
they end, so only the replica serving a call knows of it meanwhile); llmlog's own four statuses
are understood as well. Credits are USD times
`logs_api.credits_per_usd` (1 unless configured).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from multidict import MultiMapping

from llmlog.pricing.usage.read import parse_request
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.forward.capture import SUCCESS, CapturedCall
from llmlog.proxy.query.params import Param, Query, parse_filter, parse_page
from llmlog.proxy.query.present import body_value, cost_usd_of, present_events
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.store.filters import STATUSES, LogFilter, Page
from llmlog.store.interface import Hierarchy
from llmlog.store.rows import CallNode, CallRow, Row

PENDING, SUCCEEDED, FAILED = "Pending", "Succeeded", "Failed"
STATUS_VALUES = (PENDING, SUCCEEDED, FAILED)
NOTHING = "__none__"  # a status no call has: the stored part of a Pending-only query is empty

# Each parameter as llmlog's query layer knows it (name), under the document's spelling (the one
# alias); `statuses` is read here, since its values are the document's.
PARAMS: tuple[Param, ...] = (
    Param("cursor", (), "str", "pagination cursor (nextCursor of the previous page)"),
    Param("limit", ("pageSize",), "int", "results per page, 1-1000 (default 50)"),
    Param("start_date", ("from",), "time", "inclusive start (ISO 8601 or relative like -24h); default: all time"),
    Param("end_date", ("to",), "time", "exclusive end (ISO 8601 or relative)"),
    Param("environment", ("environments",), "list", "environment names (x-llmlog-environment)"),
    Param("flow", ("flows",), "list", "flow names (x-llmlog-flow)"),
    Param("statuses", (), "list", "Pending (in flight on this replica), Succeeded, Failed"),
    Param("tags", (), "list", "tags, any match (x-llmlog-tags)"),
    Param("customer_id", ("customerId",), "list", "end-customer id (x-llmlog-customer)"),
    Param("root_only", ("rootOnly",), "bool", "only root requests (no parent)"),
    Param("parent_id", ("parentRequestId",), "list", "children of this request (x-llmlog-parent-id)"),
)
SPELLED = {(p.aliases or (p.name,))[0]: p for p in PARAMS}
# the same parameters under the document's names, for /openapi.json
DOCUMENTED: tuple[Param, ...] = tuple(Param(name, (), p.kind, p.help) for name, p in SPELLED.items())
EVENTS_PARAMS = (Param("types", (), "list", "event types to keep (comma list), e.g. message_start"),)


@dataclass(slots=True)
class LogQuery:
    """A translated list request: the stored part (`f`, `page`) and whether calls in flight count."""

    f: LogFilter
    page: Page
    pending: bool  # list calls in flight (first page only)
    stored: bool  # ask the store at all (not for `statuses=Pending` alone)


def parse_query(raw: MultiMapping[str], now: int) -> LogQuery:
    """The document's parameters as llmlog's LogFilter and Page; a ValidationError names the
    parameter as sent. Only the document's names are accepted."""
    for name in raw:
        if name not in SPELLED:
            raise ValidationError(f"unknown parameter '{name}'", name)
    q = Query(raw, PARAMS)
    f = parse_filter(q, now, default_window_ms=None)
    page = parse_page(q)
    wanted: set[str] = set()
    for value in q.many("statuses"):
        status = next((s for s in STATUS_VALUES if s.lower() == value.lower()), None)
        if status is None and value in STATUSES:  # llmlog's own finer statuses are understood too
            wanted.add(value)
            continue
        if status is None:
            raise q.error("statuses", f"parameter {{}} must be {', '.join(STATUS_VALUES)}, got {value!r}")
        wanted.add(status)
    wanted = wanted or set(STATUS_VALUES)
    stored = [s for s in STATUSES if s in wanted or (SUCCEEDED if s == SUCCESS else FAILED) in wanted]
    f.statuses = stored or [NOTHING]
    return LogQuery(f, page, pending=PENDING in wanted and page.cursor is None, stored=bool(stored))


def status_of(status: str) -> str:
    return SUCCEEDED if status == SUCCESS else FAILED


def _credits(usd: float | None, credits_per_usd: float) -> float | None:
    return None if usd is None else usd * credits_per_usd


# what a request body holds beside its messages: the parameters (temperature, max_tokens, tools…)
_NOT_PARAMETERS = frozenset({"messages", "input", "prompt", "system", "instructions", "model"})


def request_parts(body: object) -> tuple[list | None, dict | None]:
    """(messages, parameters) of a request body as sent: OpenAI chat and Anthropic `messages`
    (Anthropic's `system` first, as a system message), the Responses API's `input` and
    `instructions`, a legacy completion's `prompt`."""
    if not isinstance(body, dict):
        return None, None
    messages: list = []
    system = body.get("system", body.get("instructions"))
    if system is not None:
        messages.append({"role": "system", "content": system})
    said = body.get("messages", body.get("input", body.get("prompt")))
    if isinstance(said, list) and all(isinstance(m, dict) and "role" in m for m in said):
        messages += said
    elif said is not None:
        messages.append({"role": "user", "content": said})
    return messages, {k: v for k, v in body.items() if k not in _NOT_PARAMETERS}


def _json(text: str | None):
    return None if text is None else orjson.loads(text)


def log_entry(row: CallRow, content: Row | None, credits_per_usd: float) -> dict:
    """One stored call in the document's groups (request, response, usage, timing, hierarchy,
    customer, feedback). Content (messages, parameters, text, tool calls, citations) is null for a
    do-not-track call, as for a call whose content retention removed it."""
    messages = parameters = None
    if content is not None:
        messages, parameters = request_parts(body_value(content.get("request_body")))
    tags = _json(row["tags"]) or []
    cost = cost_usd_of(row)
    feedback = _json(row["feedback"])
    return {
        "id": row["id"],
        "createdAt": iso_ms(row["started_at"]),
        "completedAt": iso_ms(row["completed_at"]),
        "status": status_of(row["status"]),
        "statusCode": row["status_code"],
        "error": row["error"],
        "model": row["model"],
        "provider": row["provider"],
        "environment": row["environment"],
        "flow": row["flow"],
        "tags": tags,
        "customerId": row["customer_id"],
        "request": {"messages": messages, "model": row["model"], "parameters": parameters,
                    "environment": row["environment"], "tags": tags},
        "response": {"text": None if content is None else content.get("output_text"),
                     "model": row["response_model"],
                     "toolCalls": None if content is None else _json(content.get("tool_calls")) or [],
                     "toolCallCount": row["tool_call_count"],
                     "citations": None if content is None else _json(content.get("citations")) or [],
                     "finishReason": row["finish_reason"]},
        "usage": {"tokensIn": row["input_tokens"], "tokensOut": row["output_tokens"],
                  "reasoningTokens": row["reasoning_tokens"], "cachedTokensIn": row["cached_input_tokens"],
                  "totalTokens": row["total_tokens"], "costUsd": cost,
                  "costCredits": _credits(cost, credits_per_usd), "priced": bool(row["priced"])},
        "timing": {"durationMs": row["duration_ms"], "timeToFirstTokenMs": row["ttfb_ms"]},
        "hierarchy": {"parentRequestId": row["parent_id"], "rootRequestId": row["root_id"] or row["id"],
                      "depth": row["depth"], "agentRole": row["agent_role"]},
        # llmlog knows one id per customer: the one the client sends, its external id
        "customer": {"id": row["customer_id"], "externalId": row["customer_id"]},
        "feedback": None if feedback is None else {"score": feedback.get("score"), "comment": feedback.get("comment")},
        "feedbackScore": None if feedback is None else feedback.get("score"),
    }


def pending_matches(call: CapturedCall, f: LogFilter) -> bool:
    """Whether a call in flight meets the filter's conditions on what is known before it ends
    (time, labels, hierarchy); status, usage and cost conditions cannot hold of it yet."""
    ctx = call.context
    started = int(call.started_at_ms)
    return ((f.start_ms is None or started >= f.start_ms) and (f.end_ms is None or started < f.end_ms)
            and (not f.environments or ctx.environment in f.environments)
            and (not f.flows or ctx.flow in f.flows)
            and (not f.customer_ids or ctx.customer_id in f.customer_ids)
            and (not f.tags or bool(set(ctx.tags) & set(f.tags)))
            and (not f.parent_ids or ctx.parent_id in f.parent_ids)
            and not (f.root_only and ctx.parent_id))


def pending_calls(calls: Iterable[CapturedCall], f: LogFilter) -> list[CapturedCall]:
    """The calls in flight the filter selects, newest first (all of them count; only a page's worth
    is shaped, by `pending_entry`)."""
    return sorted((c for c in calls if pending_matches(c, f)), key=lambda c: (c.started_at_ms, c.id), reverse=True)


def pending_entry(call: CapturedCall) -> dict:
    """A call in flight with what is known so far: no answer, usage or cost yet; messages only when
    the call is tracked."""
    ctx = call.context
    request = parse_request(call.request_body)
    messages, parameters = (None, None) if ctx.do_not_track else request_parts(body_value(call.request_body or None))
    none_usage = dict.fromkeys(("tokensIn", "tokensOut", "reasoningTokens", "cachedTokensIn", "totalTokens",
                                "costUsd", "costCredits"))
    return {
        "id": call.id, "createdAt": iso_ms(call.started_at_ms), "completedAt": None, "status": PENDING,
        "statusCode": None, "error": None, "model": request.model, "provider": call.provider.name,
        "environment": ctx.environment, "flow": ctx.flow, "tags": list(ctx.tags), "customerId": ctx.customer_id,
        "request": {"messages": messages, "model": request.model, "parameters": parameters,
                    "environment": ctx.environment, "tags": list(ctx.tags)},
        "response": None,
        "usage": {**none_usage, "priced": False},
        "timing": {"durationMs": None, "timeToFirstTokenMs": None},
        "hierarchy": {"parentRequestId": ctx.parent_id, "rootRequestId": None, "depth": None,
                      "agentRole": ctx.agent_role},
        "customer": {"id": ctx.customer_id, "externalId": ctx.customer_id},
        "feedback": None, "feedbackScore": None,
    }


def list_answer(items: list[dict], total: int, has_more: bool, next_cursor: str | None) -> dict:
    return {"items": items, "totalCount": total, "hasMore": has_more, "nextCursor": next_cursor}


def node_summary(node: CallNode) -> dict:
    return {"id": node["id"], "parentRequestId": node["parent_id"], "rootRequestId": node["root_id"] or node["id"],
            "depth": node["depth"], "createdAt": iso_ms(node["started_at"]), "model": node["model"],
            "status": status_of(node["status"]), "durationMs": node["duration_ms"],
            "totalTokens": node["total_tokens"], "costUsd": cost_usd_of(node)}


def hierarchy_answer(h: Hierarchy) -> dict:
    """/{id}/hierarchy: breadcrumb (root → this call), parent, children, from Store.hierarchy."""
    node = h.node
    return {"id": node["id"], "rootRequestId": node["root_id"] or node["id"], "depth": node["depth"],
            "breadcrumb": [node_summary(n) for n in h.breadcrumb],
            "parent": node_summary(h.parent) if h.parent else None,
            "children": [node_summary(n) for n in h.children], "childrenTotal": h.children_total,
            "tree": {"requests": h.tree_calls, "maxDepth": h.tree_max_depth,
                     "costUsd": h.tree_cost_nanos / 1_000_000_000, "unpricedRequests": h.tree_unpriced_calls}}


def events_answer(call_id: str, events: list[list], types: set[str] | None) -> dict:
    """/{id}/events: the stream's events (type: the SSE event name, `message` when unnamed)."""
    listed = [{"type": e["event"] or "message", "offsetMs": e["offset_ms"], "data": e["data"]}
              for e in present_events(events, types)]
    return {"id": call_id, "count": len(listed), "events": listed}


def event_stats_answer(call_id: str, events: list[list]) -> dict:
    """/{id}/events/stats: how many events of each type, most first."""
    counts = Counter(e["event"] or "message" for e in present_events(events, None))
    return {"id": call_id, "total": sum(counts.values()),
            "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


LOG_ENTRIES_NOTE = ("llmlog keeps no internal log entries per request (it has no elevated log levels); "
                    "the request's stream events are at /api/v1/llm-logs/{id}/events")


def log_entries_answer(call_id: str) -> dict:
    return {"id": call_id, "items": [], "note": LOG_ENTRIES_NOTE.replace("{id}", call_id)}
