"""What the pipeline tells telemetry about each built entry, and the OpenTelemetry export's lifecycle."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from typing import TYPE_CHECKING

from aiohttp import web

from llmlog.proxy.errors import ConfigError
from llmlog.proxy.forward.capture import CapturedCall
from llmlog.proxy.settings import Settings
from llmlog.proxy.telemetry.metrics import PrometheusMetrics
from llmlog.store.rows import Entry

if TYPE_CHECKING:  # the SDK is the optional `otel` extra: imported only when the export is on
    from llmlog.proxy.telemetry.otel import OtelExport

OTEL_MODULES = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
# How long a stop waits for the SDK to send what is pending. Its own shutdown waits up to 30 s for the
# spans and as long for the metrics, 10 s an attempt, when the collector does not answer: past Docker's
# stop timeout (10 s) and the systemd unit's TimeoutStopSec (30 s), which then kill llmlog. The store is
# flushed before this runs, so only telemetry the collector was not taking is left behind.
OTEL_SHUTDOWN_S = 5.0
log = logging.getLogger("llmlog")


class Telemetry:
    """One app's telemetry: the Prometheus registry always, the OpenTelemetry export while it runs."""

    def __init__(self, prometheus: PrometheusMetrics):
        self.prometheus = prometheus
        self.otel: OtelExport | None = None

    def observe(self, call: CapturedCall, entry: Entry) -> None:
        """Called by the pipeline for each entry it built (on its task, off the request path)."""
        self.prometheus.record(entry)
        if self.otel is not None:
            self.otel.export(call, entry)


def check_otel(config: Settings) -> None:
    """At start: `otel.enabled` without the SDK installed is a one-line ConfigError saying what to install."""
    if config.otel.enabled and not all(_importable(name) for name in OTEL_MODULES):
        raise ConfigError("otel.enabled needs the OpenTelemetry SDK and OTLP exporter: "
                          "pip install 'llmlog[otel]'")


def _importable(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def otel_ctx(telemetry: Telemetry, config: Settings):
    """Starts the export before the pipeline and stops it after: the pipeline's last entries are
    exported, then everything pending is sent (the SDK's flush, on a thread: it does network I/O)."""
    async def ctx(app: web.Application):
        if not config.otel.enabled:
            yield
            return
        from llmlog.proxy.telemetry.otel import OtelExport
        export = OtelExport(capture_content=config.otel.capture_content, max_models=config.metrics.max_models,
                            version=_version())
        telemetry.otel = export
        yield
        telemetry.otel = None
        if not await _within(export.shutdown, OTEL_SHUTDOWN_S):
            log.warning("OpenTelemetry: the collector did not take the pending spans and metrics within %g s; "
                        "stopping without them", OTEL_SHUTDOWN_S)
    return ctx


async def _within(blocking: Callable[[], None], seconds: float) -> bool:
    """Run `blocking` on a daemon thread and wait at most `seconds` for it: a thread still sending when
    the time is up is left behind and never holds up the process's exit (asyncio.to_thread's would)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    def run() -> None:
        try:
            blocking()
        finally:
            try:
                loop.call_soon_threadsafe(finished)
            except RuntimeError:  # the loop closed after the wait gave up
                pass

    threading.Thread(target=run, name="llmlog-otel-shutdown", daemon=True).start()
    try:
        await asyncio.wait_for(done, seconds)
    except TimeoutError:
        return False
    return True


def _version() -> str:
    try:
        return version("llmlog")
    except PackageNotFoundError:
        return ""
