"""`GET /v1/logs/summary` and `GET /v1/logs/stats` (DESIGN §6): parse and shape with proxy/query/aggregates.py,
aggregate in store/."""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.query.aggregates import STATS_PARAMS, stats_json, stats_request, summary_filter, summary_json
from llmlog.proxy.query.params import FILTER_PARAMS
from llmlog.proxy.query.timeparse import now_ms
from llmlog.proxy.state import READER
from llmlog.store.figures import AggregateError, Stats
from llmlog.store.filters import LogFilter


async def get_summary(request: web.Request) -> web.Response:
    f = summary_filter(request.query, now_ms())
    result = await request.app[READER].run(lambda store: store.summary(f))
    return json_response(summary_json(result, f))


async def stats_of(request: web.Request, f: LogFilter, group_by: str, compare: bool) -> tuple[Stats, Stats | None]:
    """`Store.stats` on the reader thread; a question it cannot answer (too many buckets) is a 400."""
    try:
        return await request.app[READER].run(lambda store: store.stats(f, group_by, compare))
    except AggregateError as exc:
        raise ValidationError(str(exc), "group_by") from None


async def get_stats(request: web.Request) -> web.Response:
    f, group_by, compare = stats_request(request.query, now_ms())
    current, previous = await stats_of(request, f, group_by, compare)
    return json_response(stats_json(current, previous))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/logs/summary", get_summary)
    app.router.add_get("/v1/logs/stats", get_stats)
    describe(app,
             Operation("GET", "/v1/logs/summary", "Totals, percentiles and breakdowns for a period.",
                       FILTER_PARAMS),
             Operation("GET", "/v1/logs/stats", "Figures grouped by a dimension or a time bucket.",
                       FILTER_PARAMS + STATS_PARAMS))
