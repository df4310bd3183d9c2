"""The optional price refresh (DESIGN §5): genai-prices' published file, fetched every N hours.

Off by default (`pricing.refresh_hours = 0`). When on, a background task fetches the file (a
timeout and a size cap), parses it and rebuilds the whole layered table in a worker thread, and
swaps it into the `PriceHolder` the pipeline reads each call's prices from. Any failure keeps the
table in use (the shipped data, or the last good refresh), logs one line, and is retried next
period. Never on the request path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from llmlog.pricing.prices import genai
from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.metrics import Metrics
from llmlog.proxy.pipeline.prices import with_config_layers
from llmlog.proxy.settings import Settings
from llmlog.proxy.upstream.egress import egress_proxy
from llmlog.proxy.upstream.interface import Origin

log = logging.getLogger("llmlog.pricing")

# genai-prices' data.json is under 1 MB (2025-2026); a file 32 times that is not a price file.
MAX_FILE_BYTES = 32 * 1024 * 1024
TIMEOUT_S = 30.0
# The label of refreshed data: the base layer's name on each rate, and the start of the version,
# which also holds a digest of every price read, so new data gives a new `pricing_version`.
REFRESHED_LABEL = "genai-prices published"


class PriceHolder:
    """The price table new calls are priced with. Replaced whole (one attribute assignment), so
    an entry is priced by one table, old or new, never a mixture."""

    __slots__ = ("table",)

    def __init__(self, table: PriceTable) -> None:
        self.table = table


def table_from_file(data: bytes, config: Settings) -> PriceTable:
    """The whole layered table from genai-prices' published file: its data as the base, then the
    same corrections, LiteLLM file and overrides as at start. Raises ValueError (or the parser's
    own error) for a file that is not a usable price list. CPU-bound: call it off the event loop."""
    providers = genai.providers_from_json(data)
    table = PriceTable.from_providers(providers, REFRESHED_LABEL)
    if not any(p.origin == "genai-prices" for p in table):
        raise ValueError("the file prices no model per token")
    return with_config_layers(table, config)


class RefreshFailed(Exception):
    """Why one refresh kept the current table (its message is the logged reason)."""


async def fetch(session: aiohttp.ClientSession, url: str, max_bytes: int) -> bytes:
    """The file at `url`, at most `max_bytes` of it; RefreshFailed for an error status or a bigger file."""
    try:
        parts = urlsplit(url)
        egress = egress_proxy(Origin.parse(f"{parts.scheme}://{parts.netloc}"))
    except ValueError as exc:
        raise RefreshFailed(f"not a URL llmlog can fetch: {exc}") from None
    # the session does not read the environment (trust_env would add ~/.netrc's credentials to the
    # request): the egress proxy, if any, is named per request as for calls (proxy/upstream/egress.py)
    async with session.get(url, proxy=egress.url if egress else None) as response:
        if response.status != 200:
            raise RefreshFailed(f"HTTP {response.status}")
        if response.content_length is not None and response.content_length > max_bytes:
            raise RefreshFailed(f"file of {response.content_length} bytes, over the {max_bytes} byte cap")
        data = bytearray()
        async for chunk in response.content.iter_any():
            data += chunk
            if len(data) > max_bytes:
                raise RefreshFailed(f"file over the {max_bytes} byte cap")
        return bytes(data)


async def refresh_once(holder: PriceHolder, session: aiohttp.ClientSession, url: str, config: Settings,
                       metrics: Metrics, max_bytes: int = MAX_FILE_BYTES) -> bool:
    """One refresh: True when the table was replaced; False (one log line) when it was kept."""
    try:
        data = await fetch(session, url, max_bytes)
        table = await asyncio.to_thread(table_from_file, data, config)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # unreachable, timeout, bad JSON, a table that fails to build
        metrics.price_refresh_failures += 1
        reason = str(exc) or type(exc).__name__
        log.warning("price refresh from %s failed (%s: %s); keeping prices %s", url, type(exc).__name__,
                    reason[:200], holder.table.version)
        return False
    metrics.price_refreshes += 1
    if table.version != holder.table.version:
        log.info("prices refreshed from %s: %s", url, table.version)
    holder.table = table
    return True


def price_refresh_ctx(holder_of: Callable[[web.Application], PriceHolder], config: Settings,
                      metrics_of: Callable[[web.Application], Metrics], *, max_bytes: int = MAX_FILE_BYTES):
    """A cleanup_ctx refreshing at start and every `pricing.refresh_hours`; nothing when it is 0.
    A file over `max_bytes` is refused."""
    hours = config.pricing.refresh_hours
    url = config.pricing.refresh_url

    async def ctx(app: web.Application):
        if hours <= 0 or not url:
            yield
            return
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))

        async def loop() -> None:
            while True:
                await refresh_once(holder_of(app), session, url, config, metrics_of(app), max_bytes)
                await asyncio.sleep(hours * 3600)

        task = asyncio.create_task(loop(), name="llmlog-price-refresh")
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await session.close()

    return ctx
