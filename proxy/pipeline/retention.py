"""The background retention task (DESIGN §7): prunes old calls and old content periodically."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from aiohttp import web

from llmlog.store.interface import StoreError
from llmlog.store.runner import StoreThread

log = logging.getLogger("llmlog.retention")
DAY_MS = 86_400_000
CLAIM = "retention"
INTERVAL_S = 3600.0


async def run_retention_once(db: StoreThread, retention_days: float, content_days: float,
                             now_ms: int | None = None) -> None:
    """One pass: whole calls past `retention_days`, then content past `content_days` (0 = keep).
    With several replicas on one store, the one that claims the pass runs it; the others skip it."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if not await db.run(lambda store: store.try_exclusive(CLAIM)):
        log.debug("retention: another process sharing the store runs this pass")
        return
    try:
        await _prune(db, retention_days, content_days, now)
    finally:
        await db.run(lambda store: store.release_exclusive(CLAIM))


async def _prune(db: StoreThread, retention_days: float, content_days: float, now: int) -> None:
    if retention_days > 0:
        result = await db.run(lambda store: store.prune(now - int(retention_days * DAY_MS)))
        if result.calls_deleted:
            log.info("retention: deleted %d calls older than %s days", result.calls_deleted, retention_days)
        _log_exports_removed(result.export_files_removed, retention_days)
    if content_days > 0:
        result = await db.run(lambda store: store.prune(now - int(content_days * DAY_MS), content_only=True))
        if result.contents_dropped:
            log.info("retention: dropped content of %d calls older than %s days",
                     result.contents_dropped, content_days)
        _log_exports_removed(result.export_files_removed, content_days)


def _log_exports_removed(count: int, days: float) -> None:
    if count:
        log.info("retention: removed %d export files holding calls older than %s days", count, days)


def retention_ctx(db_of: Callable[[web.Application], StoreThread], retention_days: float,
                  content_days: float, interval_s: float = INTERVAL_S):
    """A cleanup_ctx running a pass at start and every `interval_s`; nothing when both are 0.

    `db_of` finds the writer's store thread once the store context has opened it.
    """
    async def ctx(app: web.Application):
        if retention_days <= 0 and content_days <= 0:
            yield
            return

        async def loop() -> None:
            while True:
                try:
                    await run_retention_once(db_of(app), retention_days, content_days)
                except StoreError as exc:  # the store is away: the next interval tries again
                    log.warning("retention pass skipped: %s", exc)
                except Exception:  # a failed pass is retried next interval, never kills the server
                    log.exception("retention pass failed")
                await asyncio.sleep(interval_s)

        task = asyncio.create_task(loop(), name="llmlog-retention")
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    return ctx
