"""The pipeline's and the store's counts, shown at /metrics (proxy/telemetry/metrics.py reads them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Metrics:
    entries_written: int = 0
    entries_written_for_workers: int = 0  # by the lead of `serve --workers`, entries the others built
    entries_spilled: int = 0
    entries_replayed: int = 0
    entries_dropped: int = 0
    write_errors: int = 0
    spill_errors: int = 0
    spill_records_torn: int = 0
    batches: int = 0
    batch_seconds: float = 0.0
    checkpoints: int = 0
    wal_pages: int = 0  # WAL length at the last checkpoint pass
    price_refreshes: int = 0
    price_refresh_failures: int = 0
    store_up: bool = True  # the last write (or the start's open) reached the store
    queue_depth: Callable[[], int] = lambda: 0
    entries_held: Callable[[], int] = lambda: 0
