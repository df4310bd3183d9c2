"""Every value the app holds (aiohttp `AppKey`s), in one place: app.py sets them, handlers read them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # the keys only name their types; importing them here would tie every module to app state
    from llmlog.proxy.access.client_address import Network
    from llmlog.proxy.access.guard import HostPolicy
    from llmlog.proxy.api.operation import Operation
    from llmlog.proxy.forward.handler import Forwarder
    from llmlog.proxy.metrics import Metrics
    from llmlog.proxy.pipeline.export_jobs import JobRunner
    from llmlog.proxy.pipeline.price_refresh import PriceHolder
    from llmlog.proxy.pipeline.worker import Pipeline
    from llmlog.proxy.settings import Settings
    from llmlog.proxy.telemetry.observe import Telemetry
    from llmlog.proxy.workers.role import Worker
    from llmlog.store.runner import StorePool, StoreThread

CONFIG: web.AppKey[Settings] = web.AppKey("config")
# server.trusted_proxies, parsed once: whose X-Forwarded-For and X-Forwarded-Proto are believed
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")
HOSTS: web.AppKey[HostPolicy] = web.AppKey("hosts")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")  # the pipeline's and the store's counts
TELEMETRY: web.AppKey[Telemetry] = web.AppKey("telemetry")  # /metrics' registry, the OpenTelemetry export
PRICES: web.AppKey[PriceHolder] = web.AppKey("prices")  # the table now in use: a refresh replaces it
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline")
FORWARDER: web.AppKey[Forwarder] = web.AppKey("forwarder")
READER: web.AppKey[StorePool] = web.AppKey("reader")
# the pipeline's writer: the one thread that writes (feedback, erasure, retention)
WRITER: web.AppKey[StoreThread] = web.AppKey("writer")
JOBS: web.AppKey[JobRunner] = web.AppKey("export_jobs")
WORKER: web.AppKey[Worker] = web.AppKey("worker")  # this process's place among `serve --workers`
OPERATIONS: web.AppKey[list[Operation]] = web.AppKey("openapi_operations")
