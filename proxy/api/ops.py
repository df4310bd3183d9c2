"""The operator's routes: `/healthz` for load balancers, `/metrics` for Prometheus, `/`, which
sends a browser to the logs page, and `/favicon.ico`, which a browser asks for unprompted."""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.state import METRICS, PIPELINE, TELEMETRY, WORKER


async def healthz(request: web.Request) -> web.Response:
    """200 while calls are served, also when the store is not answering (entries wait in the spill
    file meanwhile): a load balancer keeps the replica; `store` says whether writes reach it.
    `worker` (index), `pid` and `workers` say which process of `serve --workers` answered."""
    metrics = request.app[METRICS]
    worker = request.app[WORKER]
    return json_response({"status": "ok", "store": "ok" if metrics.store_up else "unavailable",
                          "queue_depth": request.app[PIPELINE].queue.qsize(),
                          "worker": worker.index, "workers": worker.count, "pid": os.getpid()})


async def metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[TELEMETRY].prometheus.render(request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})


FAVICON = Path(__file__).parents[1] / "ui" / "static" / "favicon.ico"
# what `/` tells a program that asked for JSON: where things are (nothing a logs key would guard)
ROOT_JSON = {"service": "llmlog", "logs_page": "/ui", "logs_api": "/v1/logs", "openapi": "/openapi.json",
             "health": "/healthz", "metrics": "/metrics"}


async def root(request: web.Request) -> web.Response:
    """A browser (and curl, which accepts anything) goes to the logs page. A program that asked
    for JSON alone gets a small JSON map instead: following the redirect would hand it HTML."""
    accept = request.headers.get("Accept", "").lower()
    if "application/json" in accept and "text/html" not in accept:
        answer = json_response(ROOT_JSON)
        answer.headers["Vary"] = "Accept"
        return answer
    raise web.HTTPFound("/ui", headers={"Vary": "Accept"})


async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(FAVICON, headers={"Cache-Control": "max-age=86400",
                                              "Content-Type": "image/x-icon"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    describe(app, Operation("GET", "/healthz", "Liveness and queue depth; which worker answered "
                       "(`worker` index, `pid`) of how many (`workers`, `serve --workers`)."),
             Operation("GET", "/metrics", "Prometheus exposition (OpenMetrics when asked for): calls, tokens, cost, "
                       "latency histograms, pipeline counts."),
             Operation("GET", "/", "Redirects to the logs page, /ui; with `Accept: application/json` (and not "
                       "text/html), a JSON map of llmlog's own routes instead.",
                       responses={"302": {"description": "to /ui"}, "200": {"description": "the JSON map"}}),
             Operation("GET", "/favicon.ico", "The logs page's icon.",
                       responses={"200": {"description": "an image/x-icon"}}))
