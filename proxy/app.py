"""The app factory: one aiohttp application serving the proxy, the logs API and ops routes.

Wiring only: which objects are built from the config, which lifecycle contexts run (all listed in
make_app, in the order they start; they stop in reverse), which middlewares and routes are served.
The behaviour lives in the packages named below."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.usage.estimate import warm_encodings
from llmlog.proxy.access.client_address import trusted_networks
from llmlog.proxy.access.guard import HostPolicy, guard
from llmlog.proxy.access.rate_limit import RateLimiter, logs_api_limits
from llmlog.proxy.api import aggregates as aggregates_api
from llmlog.proxy.api import entries as entries_api
from llmlog.proxy.api import erasure as erasure_api
from llmlog.proxy.api import export as export_api
from llmlog.proxy.api import logs as logs_api
from llmlog.proxy.api import openapi
from llmlog.proxy.api import ops as ops_api
from llmlog.proxy.api.seeds import agentrouter as agentrouter_api
from llmlog.proxy.api.seeds import promptshuttle as promptshuttle_api
from llmlog.proxy.api.seeds import promptshuttle_statistics
from llmlog.proxy.forward.handler import Forwarder
from llmlog.proxy.forward.routing import Router
from llmlog.proxy.http_errors import json_errors
from llmlog.proxy.metrics import Metrics
from llmlog.proxy.pipeline.checkpoints import INTERVAL_S, run_checkpoints
from llmlog.proxy.pipeline.export_jobs import ExportFile, JobRunner, export_file, export_jobs_ctx
from llmlog.proxy.pipeline.interpret import EntryBuilder, build_entry, fallback_entry
from llmlog.proxy.pipeline.price_refresh import MAX_FILE_BYTES, PriceHolder, price_refresh_ctx
from llmlog.proxy.pipeline.prices import price_table_for
from llmlog.proxy.pipeline.retention import retention_ctx
from llmlog.proxy.pipeline.worker import Pipeline
from llmlog.proxy.privacy.redaction import PrivacyPolicy
from llmlog.proxy.settings import Settings
from llmlog.proxy.state import (
    CONFIG,
    FORWARDER,
    HOSTS,
    JOBS,
    METRICS,
    PIPELINE,
    PRICES,
    READER,
    TELEMETRY,
    TRUSTED_PROXIES,
    WORKER,
    WRITER,
)
from llmlog.proxy.telemetry.metrics import PrometheusMetrics
from llmlog.proxy.telemetry.observe import Telemetry, check_otel, otel_ctx
from llmlog.proxy.ui import routes as ui_routes
from llmlog.proxy.upstream.aiohttp_client import AiohttpUpstream
from llmlog.proxy.upstream.client import IDLE_TIMEOUT_S, UpstreamClient
from llmlog.proxy.upstream.egress import proxy_variables
from llmlog.proxy.workers.child import ignore_repeated_stops, leave_with_parent
from llmlog.proxy.workers.ingest import ingest_ctx
from llmlog.proxy.workers.role import SOLO, Worker, lead_writes_for_others, orphaned_spill_paths, worker_spill_path
from llmlog.proxy.workers.sender import sender_for
from llmlog.store.backends import is_postgres
from llmlog.store.interface import Store, StoreError
from llmlog.store.runner import StorePool, StoreThread
from llmlog.store.sealing import KeysMissing, verify_keys
from llmlog.store.spill import SpillFile

log = logging.getLogger("llmlog")

# How the HTTP server runs llmlog (`serve`, and the tests): request bodies reach the handlers as
# sent, since aiohttp would otherwise inflate a gzip body, forward it still labelled gzip, and do the
# inflating on the event loop without bound; and a handler whose client left is cancelled.
SERVER_OPTIONS: dict[str, Any] = {"auto_decompress": False, "handler_cancellation": True}
# The logs API's reader threads: with two, the table's rows and the count of their matches are read side
# by side (`python -m bench.bench_page --readers 1,2` at 1M entries: a common word's first page 1.39 ->
# 0.98 s, the plain first page 180 -> 152 ms). The dashboard's aggregates gain nothing yet: their
# per-row Python work (percentiles from fetched durations) holds the GIL. More threads would only take
# CPU from the request path and the writer on a small machine.
READER_THREADS = 2


@dataclass(frozen=True)
class Seams:
    """What the app's parts are built with where no setting reaches: the production values unless
    a test passes its own, to make a timing-bound behaviour quick, to put a fake store in place,
    or to watch a step. No user has reason to change these; `serve` always takes the defaults."""

    open_store: Callable[..., Store] | None = None  # None: the configured store (Settings.open_store)
    checkpoint_interval_s: float = INTERVAL_S
    upstream_idle_timeout_s: float = IDLE_TIMEOUT_S
    price_file_max_bytes: int = MAX_FILE_BYTES
    build_entry: EntryBuilder = build_entry  # interpreting a captured call (proxy/pipeline/interpret.py)
    export_file: ExportFile = export_file  # an export job's work on its thread (proxy/pipeline/export_jobs.py)
    rate_clock: Callable[[], float] = time.monotonic  # the logs API's rate limit reads it (seconds)


def _entry_builder(holder: PriceHolder, max_body_bytes: int, privacy: PrivacyPolicy, interpret: EntryBuilder):
    """`interpret` (build_entry) with the table current when the entry is built (a refresh may swap it)."""
    def build(call):
        return interpret(call, holder.table, max_body_bytes, privacy)
    return build


def _injected_keys(config: Settings) -> dict[str, tuple[str, str]]:
    """Keys from `api_key_env`, read once at start, in the header each API format expects."""
    keys = {}
    for provider in config.providers:
        value = os.environ.get(provider.api_key_env) if provider.api_key_env else None
        if value:
            keys[provider.name] = ("x-api-key", value) if provider.format == "anthropic" else (
                "Authorization", f"Bearer {value}")
    return keys


def _warn_of_ignored_proxies(config: Settings) -> None:
    """llmlog's own client connects straight to providers: one warning at start when the
    environment names a proxy their calls would otherwise go through, naming the setting that does."""
    variables = proxy_variables(provider.base_url for provider in config.providers)
    if variables:
        log.warning('%s %s set, but upstream.client = "llmlog" connects to providers directly; set '
                    'upstream.client = "aiohttp" (LLMLOG_UPSTREAM_CLIENT=aiohttp) to go through the proxy',
                    " and ".join(variables), "is" if len(variables) == 1 else "are")


def _checked(store: Store) -> None:
    """Every key id the store holds content under has its key here (store/sealing.py), then closed."""
    try:
        verify_keys(store)
    finally:
        store.close()


def _with_keys(open_store: Callable[..., Store], config: Settings) -> Callable[..., Store]:
    """`open_store`, its stores sealing and opening content with the configured keys (if any)."""
    if config.keyring is None:
        return open_store
    return partial(open_store, keyring=config.keyring)


async def _open_before_serving(config: Settings, open_store: Callable[..., Store], metrics: Metrics) -> None:
    """Create and migrate the store before serving, and check it holds no content under a key not
    configured. A SQLite file that cannot be used, or a missing key, stops the start with its
    one-line reason; a PostgreSQL server that cannot be reached does not: a replica serves calls
    meanwhile, keeps their entries in its spill file and writes them once it is back."""
    try:
        await asyncio.to_thread(lambda: _checked(open_store()))
    except StoreError as exc:
        if not is_postgres(config.db_path) or isinstance(exc, KeysMissing):
            raise
        metrics.store_up = False
        log.warning("%s; serving calls anyway, keeping their entries in %s until the store answers",
                    exc, config.spill_path)


async def _store_ctx(app: web.Application, seams: Seams):
    """Database, writer thread, pipeline task: started before traffic, drained after it stops."""
    config = app[CONFIG]
    worker = app[WORKER]
    open_store = _with_keys(seams.open_store or config.open_store, config)
    await _open_before_serving(config, open_store, app[METRICS])
    await asyncio.to_thread(warm_encodings)  # never loaded on the loop by the first estimate
    nice = config.store.writer_nice
    busy_ms = config.store.busy_timeout_ms

    def open_writer() -> Store:
        return open_store(writer=True, busy_timeout_ms=busy_ms)

    writer = StoreThread(open_writer, "llmlog-writer", nice=nice)
    # the pipeline's writer while logging is behind (proxy/pipeline/worker.py); opened at its first use
    catch_up = StoreThread(open_writer, "llmlog-catch-up") if nice else writer
    reader = StorePool(open_store, "llmlog-reader", READER_THREADS)
    checkpointer = StoreThread(open_store, "llmlog-checkpoint", nice=nice)
    sender = sender_for(config, worker)  # serve --workers on SQLite: batches go to the lead's writer
    pipeline = Pipeline(
        writer, SpillFile(worker_spill_path(config.spill_path, worker), config.keyring),
        _entry_builder(app[PRICES], config.store.max_body_bytes,
                       PrivacyPolicy(config.privacy.detect_pii, frozenset(config.privacy.redact)), seams.build_entry),
        fallback_entry, app[METRICS],
        queue_size=config.store.queue_size, batch_size=config.store.batch_size,
        batch_interval_s=config.store.batch_interval_ms / 1000, hold_size=config.store.hold_size,
        observe=app[TELEMETRY].observe,
        write=sender.write if sender else None, replay=sender.replay if sender else None, catch_up=catch_up,
    )
    app[PIPELINE] = pipeline
    app[READER] = reader
    app[WRITER] = writer
    metrics = app[METRICS]
    tasks = [asyncio.create_task(pipeline.run(), name="llmlog-pipeline"),
             asyncio.create_task(pipeline.run_overflow(), name="llmlog-overflow")]
    if worker.lead:  # background jobs: one process runs them
        tasks.append(asyncio.create_task(run_checkpoints(checkpointer, metrics, seams.checkpoint_interval_s),
                                         name="llmlog-checkpoint"))
        tasks.append(asyncio.create_task(_adopt_orphaned_spills(config, worker, writer, metrics),
                                         name="llmlog-orphaned-spills"))
    yield
    for task in tasks:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    await pipeline.close()
    if sender is not None:
        await sender.close()
    await writer.close()
    if catch_up is not writer:
        await catch_up.close()
    await reader.close()
    await checkpointer.close()  # the last connection to close checkpoints the rest


async def _adopt_orphaned_spills(config: Settings, worker: Worker, writer: StoreThread, metrics: Metrics) -> None:
    """Replay the spill files of workers this start has none of (`serve --workers` stopped before
    they replayed them, then started with fewer): nobody else ever would."""
    directory = os.path.dirname(os.path.abspath(config.spill_path))
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for path in orphaned_spill_paths(os.path.abspath(config.spill_path), worker, names):
        try:
            replayed = await writer.run(SpillFile(path, config.keyring).replay)
        except Exception as exc:  # the next start tries again
            log.warning("could not replay %s, left by a worker of an earlier run (%s)", path, exc)
            continue
        metrics.entries_replayed += replayed
        metrics.entries_written += replayed
        log.info("replayed %d entries from %s, left by a worker of an earlier run", replayed, path)


async def _client_ctx(app: web.Application, seams: Seams):
    """One shared upstream client: no pool limit (streams must never queue), bytes as sent."""
    config = app[CONFIG]
    if config.upstream.client == "llmlog":
        _warn_of_ignored_proxies(config)
    kind = AiohttpUpstream if config.upstream.client == "aiohttp" else UpstreamClient
    client = kind(connect_timeout_s=config.upstream.connect_timeout_s,
                  read_timeout_s=config.upstream.read_timeout_s, idle_timeout_s=seams.upstream_idle_timeout_s)
    app[FORWARDER] = Forwarder(
        client, Router(config.providers), app[PIPELINE].submit,
        max_body_bytes=config.store.max_body_bytes, max_request_bytes=config.server.max_request_bytes,
        injected_keys=_injected_keys(config), hosts=app[HOSTS], admin_keys=config.logs_api.api_keys,
        trusted_proxies=app[TRUSTED_PROXIES],
    )
    yield
    await client.close()


async def _shutting_down(app: web.Application) -> None:
    app[FORWARDER].shutting_down = True


async def forward(request: web.Request) -> web.StreamResponse:
    return await request.app[FORWARDER].handle(request)


def make_app(config: Settings, *, prices: PriceTable | None = None, seams: Seams = Seams(),
             worker: Worker = SOLO) -> web.Application:
    """`worker`: this process's place among `serve --workers` (proxy/workers/); one process by default."""
    check_otel(config)
    hosts = HostPolicy(config.server.host, config.server.allowed_hosts)
    logs_api_config = config.logs_api
    per_minute = logs_api_config.requests_per_minute
    limiter = RateLimiter(per_minute, seams.rate_clock) if per_minute else None
    trusted_proxies = trusted_networks(config.server.trusted_proxies)
    limits = logs_api_limits(limiter, logs_api_config.max_limit, bool(logs_api_config.api_keys), trusted_proxies)
    app = web.Application(middlewares=[json_errors, guard(hosts, logs_api_config.api_keys, limits)],
                          client_max_size=config.server.max_request_bytes)
    app[CONFIG] = config
    app[TRUSTED_PROXIES] = trusted_proxies
    app[HOSTS] = hosts
    app[WORKER] = worker
    app[METRICS] = Metrics()
    app[TELEMETRY] = telemetry = Telemetry(PrometheusMetrics(
        app[METRICS], max_models=config.metrics.max_models,
        labels={"worker": str(worker.index)} if worker.count > 1 else None))
    app[PRICES] = PriceHolder(prices or price_table_for(config))
    jobs = JobRunner(_with_keys(seams.open_store or config.open_store, config), export_file=seams.export_file)
    app[JOBS] = jobs
    # every lifecycle context, in the order they start (they stop in reverse): the store and the
    # pipeline first (after the OpenTelemetry export, which sends the pipeline's last entries at the
    # end), then the upstream client the request path needs, then background tasks
    app.cleanup_ctx.append(otel_ctx(telemetry, config))
    app.cleanup_ctx.append(partial(_store_ctx, seams=seams))
    if lead_writes_for_others(worker, config.db_path):  # serve --workers on SQLite: the others' entries
        app.cleanup_ctx.append(ingest_ctx(config.db_path, lambda a: a[WRITER], lambda a: a[METRICS]))
    app.cleanup_ctx.append(partial(_client_ctx, seams=seams))
    app.on_shutdown.append(_shutting_down)
    if worker.lead:
        app.cleanup_ctx.append(retention_ctx(lambda a: a[WRITER], config.store.retention_days,
                                             config.store.content_retention_days))
    if worker.count > 1:
        app.cleanup_ctx.append(leave_with_parent)
        app.on_shutdown.append(ignore_repeated_stops)
    app.cleanup_ctx.append(price_refresh_ctx(lambda a: a[PRICES], config, lambda a: a[METRICS],
                                             max_bytes=seams.price_file_max_bytes))
    app.cleanup_ctx.append(export_jobs_ctx(jobs, lambda a: a[WRITER]))
    openapi.add_routes(app)
    ops_api.add_routes(app)
    ui_routes.add_routes(app)
    # fixed /v1/logs/<word> routes register here, before logs_api's /v1/logs/{call_id}
    aggregates_api.add_routes(app)
    erasure_api.add_routes(app)
    export_api.add_routes(app)
    entries_api.add_routes(app)
    promptshuttle_api.add_routes(app)
    promptshuttle_statistics.add_routes(app)
    logs_api.add_routes(app)
    agentrouter_api.add_routes(app)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app
