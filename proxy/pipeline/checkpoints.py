"""The background checkpointer: keeps the WAL short while the writer never waits on it."""

from __future__ import annotations

import asyncio
import logging

from llmlog.proxy.metrics import Metrics
from llmlog.store.runner import StoreThread

log = logging.getLogger("llmlog.checkpoint")
INTERVAL_S = 0.5  # at 20k rows/s about 40 MB of WAL between passes; usually far less


async def run_checkpoints(db: StoreThread, metrics: Metrics, interval_s: float = INTERVAL_S) -> None:
    """Every `interval_s`, if entries were written since the last pass, checkpoint (PASSIVE) on
    `db`, a store thread used for nothing else. Runs until cancelled."""
    def written() -> int:  # by this process, for itself and (the lead of `serve --workers`) for the others
        return metrics.entries_written + metrics.entries_written_for_workers

    seen = written()
    failing = False  # said once per run of failures, not every pass (a full disk fails for minutes)
    while True:
        await asyncio.sleep(interval_s)
        now = written()
        if now == seen:
            continue
        try:
            metrics.wal_pages = await db.run(lambda store: store.checkpoint())
            metrics.checkpoints += 1
            seen = now
            if failing:
                log.info("checkpoints work again")
                failing = False
        except Exception as exc:  # locked, busy or full: the next pass catches up; the WAL only grows meanwhile
            if not failing:
                log.warning("checkpoint failed (%s); retrying every %.1f s", exc, interval_s)
                failing = True
