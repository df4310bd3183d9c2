"""The operator's routes: `/healthz` for load balancers, `/metrics` for Prometheus, and `/`, which
sends a browser to the logs page."""

from __future__ import annotations

from aiohttp import web

from proxy.api.openapi import describe
from proxy.api.operation import Operation
from proxy.api.respond import json_response
from proxy.state import METRICS, PIPELINE, TELEMETRY


async def healthz(request: web.Request) -> web.Response:
    """200 while calls are served, also when the store is not answering (entries wait in the spill
    file meanwhile): a load balancer keeps the replica; `store` says whether writes reach it."""
    metrics = request.app[METRICS]
    return json_response({"status": "ok", "store": "ok" if metrics.store_up else "unavailable",
                          "queue_depth": request.app[PIPELINE].queue.qsize()})


async def metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[TELEMETRY].prometheus.render(request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    describe(app, Operation("GET", "/healthz", "Liveness and queue depth."),
             Operation("GET", "/metrics", "Prometheus exposition (OpenMetrics when asked for): calls, tokens, cost, "
                       "latency histograms, pipeline counts."),
             Operation("GET", "/", "Redirects to the logs page, /ui.", responses={"302": {"description": "to /ui"}}))
