"""AgentRouter's request logs (seed 002): `GET /v1/request-logs`, `/v1/request-logs/{request_id}` and
`/v1/request-logs/stats`, answered by the same store reads as `/v1/logs`, `/v1/logs/{id}` and
`/v1/logs/stats`, translated by proxy/query/seeds/agentrouter.py."""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.api.aggregates import stats_of
from llmlog.proxy.api.logs import whole_entry
from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.query.seeds.agentrouter import (
    LIST_PARAMS,
    STATS_PARAMS,
    list_json,
    list_request,
    request_log,
    stats_json,
)
from llmlog.proxy.query.seeds.agentrouter import stats_request as parse_stats
from llmlog.proxy.query.timeparse import now_ms
from llmlog.proxy.state import CONFIG, READER
from llmlog.store.filters import CursorError, LogFilter
from llmlog.store.interface import Store


async def query_request_logs(request: web.Request) -> web.Response:
    log_filter, page = list_request(request.query, now_ms())
    try:
        result = await request.app[READER].run(lambda store: store.list_logs(log_filter, page))
    except CursorError as exc:
        raise ValidationError(f"parameter page_token: {exc}", "page_token") from None
    return json_response(list_json(result.rows, result.total, result.next_cursor, request.app[CONFIG].api_key_names))


async def get_request_log(request: web.Request) -> web.Response:
    row, content = await whole_entry(request, request.match_info["request_id"])
    return json_response(request_log(row, content, request.app[CONFIG].api_key_names))


def _key_prefixes(store: Store, hashes: list[str]) -> dict[str, str | None]:
    """On the reader thread: the prefix each key hash was shown with (one call of each key), so a key
    named by its prefix in `[api_key_names]` is named in the stats as in the list."""
    prefixes: dict[str, str | None] = {}
    for key_hash in hashes:
        rows = store.export_batch(LogFilter(api_key_ids=[key_hash]), limit=1)
        prefixes[key_hash] = rows[0]["api_key_prefix"] if rows else None
    return prefixes


async def get_request_log_stats(request: web.Request) -> web.Response:
    f, group_by, metric = parse_stats(request.query, now_ms())
    current, _ = await stats_of(request, f, group_by, False)
    names = request.app[CONFIG].api_key_names
    prefixes: dict[str, str | None] = {}
    if group_by == "api_key" and names:
        hashes = [key for key, _ in current.groups if isinstance(key, str)]
        prefixes = await request.app[READER].run(lambda store: _key_prefixes(store, hashes))
    return json_response(stats_json(current, metric, names, prefixes))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/request-logs", query_request_logs)
    app.router.add_get("/v1/request-logs/stats", get_request_log_stats)  # before /{request_id}
    app.router.add_get("/v1/request-logs/{request_id}", get_request_log)
    describe(app,
             Operation("GET", "/v1/request-logs", "AgentRouter QueryRequestLogs: {logs, next_page_token, "
                       "total_count}; list items carry no content (see the single log).", LIST_PARAMS),
             Operation("GET", "/v1/request-logs/stats", "AgentRouter GetRequestLogStats: figures grouped by "
                       "model, user, api_key, status, hour or day.", STATS_PARAMS),
             Operation("GET", "/v1/request-logs/{request_id}", "AgentRouter GetRequestLog: one call as a "
                       "RequestLog, content included unless do-not-track."))
