"""PromptShuttle's analytics routes (seeds/001) under /api/v1/statistics: each parses and shapes with
promptshuttle_figures.py and asks the store for its figures (`Store.distributions`, computed in
the database), on the reader thread as GET /v1/logs/stats does."""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.api.seeds import promptshuttle_figures as pf
from llmlog.proxy.query.timeparse import now_ms
from llmlog.proxy.state import CONFIG, READER
from llmlog.store.filters import LogFilter
from llmlog.store.interface import Store

BASE = "/api/v1/statistics"
FLOW = BASE + "/flow/{flow}"


def _levels(store: Store, f: LogFilter):
    """The figures of the three levels for one flow's calls (the request and tree levels' totals read
    together: they are the same trees)."""
    trees = store.distributions(f, "tree", [], pf.REQUEST_AND_TREE)
    return (store.distributions(f, "call", ["model"], pf.INFERENCE), trees,
            store.distributions(f, "tree", ["model"], pf.REQUEST), trees)


def _credits(request: web.Request) -> float:
    return request.app[CONFIG].logs_api.credits_per_usd


async def get_flow(request: web.Request) -> web.Response:
    flow = request.match_info["flow"]
    f, _ = pf.flow_filter(flow, request.query, now_ms())
    groups = await request.app[READER].run(lambda store: store.distributions(f, "call", ["model"], pf.INFERENCE))
    return json_response(pf.inference_answer(flow, f, groups, _credits(request)))


async def get_request_level(request: web.Request) -> web.Response:
    flow = request.match_info["flow"]
    f, _ = pf.flow_filter(flow, request.query, now_ms())
    total, by_model = await request.app[READER].run(
        lambda store: (store.distributions(f, "tree", [], pf.REQUEST),
                       store.distributions(f, "tree", ["model"], pf.REQUEST)))
    return json_response(pf.request_answer(flow, f, total, by_model, _credits(request)))


async def get_tree_level(request: web.Request) -> web.Response:
    flow = request.match_info["flow"]
    f, _ = pf.flow_filter(flow, request.query, now_ms())
    total = await request.app[READER].run(lambda store: store.distributions(f, "tree", [], pf.TREE))
    return json_response(pf.tree_answer(flow, f, total, _credits(request)))


async def get_extended(request: web.Request) -> web.Response:
    flow = request.match_info["flow"]
    f, q = pf.flow_filter(flow, request.query, now_ms(), pf.EXTENDED_PARAMS)
    bucket = pf.resolution(q, "Day")
    pf.check_buckets(q, f, bucket)
    (calls, requests, by_model, trees), points = await request.app[READER].run(
        lambda store: (_levels(store, f), store.distributions(f, "call", [bucket], pf.SERIES)))
    credits = _credits(request)
    return json_response(pf.extended_answer(
        pf.inference_answer(flow, f, calls, credits), pf.request_answer(flow, f, requests, by_model, credits),
        pf.tree_answer(flow, f, trees, credits), f, bucket, points, credits))


async def get_tenant(request: web.Request) -> web.Response:
    t = pf.tenant_query(request.query, now_ms())
    current, previous = await request.app[READER].run(
        lambda store: (store.distributions(t.current, "call", ["flow", t.bucket], pf.SERIES),
                       store.distributions(t.previous, "call", [], pf.SERIES)))
    return json_response(pf.tenant_answer(t, current, previous, _credits(request)))


async def get_overview(request: web.Request) -> web.Response:
    f = pf.window_filter(request.query, now_ms())
    by_model, by_flow = await request.app[READER].run(
        lambda store: (store.distributions(f, "call", ["model"], pf.SHARE),
                       store.distributions(f, "call", ["flow"], pf.SHARE)))
    return json_response(pf.overview_answer(f, by_model, by_flow, _credits(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_get(BASE, get_tenant)
    app.router.add_get(BASE + "/overview", get_overview)
    app.router.add_get(FLOW, get_flow)
    app.router.add_get(FLOW + "/request", get_request_level)
    app.router.add_get(FLOW + "/tree", get_tree_level)
    app.router.add_get(FLOW + "/extended", get_extended)
    describe(app,
             Operation("GET", BASE, "Tenant-wide: invocations, cost, credits and tokens against the previous "
                       "period; per-flow, cost and token series; top flows.", pf.documented(pf.TENANT_PARAMS)),
             Operation("GET", BASE + "/overview", "Cost and requests (calls) by model and by flow, with percentages "
                       "(largest remainder, two decimals, summing to 100).", pf.documented(pf.WINDOW_PARAMS)),
             Operation("GET", FLOW, "Per inference, by model: averages, P50/P90/P95/P99 of tokens, latency "
                       "and cost, token and latency histograms.", pf.documented(pf.WINDOW_PARAMS)),
             Operation("GET", FLOW + "/request", "Per request (a root call and its descendants): cost, "
                       "function calls, latency, by primary model.", pf.documented(pf.WINDOW_PARAMS)),
             Operation("GET", FLOW + "/tree", "Per agent tree: cost, agent count, depth and their "
                       "distributions.", pf.documented(pf.WINDOW_PARAMS)),
             Operation("GET", FLOW + "/extended", "All three levels and a time series of invocations, "
                       "cost and tokens.", pf.documented(pf.EXTENDED_PARAMS)))
