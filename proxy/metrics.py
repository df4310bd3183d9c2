"""Process counters, rendered in Prometheus text format at /metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Metrics:
    calls: Counter = field(default_factory=Counter)  # (provider, status) -> count
    entries_written: int = 0
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

    def render(self) -> str:
        lines = [
            "# HELP llmlog_calls_total Proxied calls by provider and outcome.",
            "# TYPE llmlog_calls_total counter",
        ]
        for (provider, status), count in sorted(self.calls.items()):
            lines.append(f'llmlog_calls_total{{provider="{_label(provider)}",status="{_label(status)}"}} {count}')
        for name, kind, help_text, value in (
            ("llmlog_queue_depth", "gauge", "Captured calls waiting for the writer.", self.queue_depth()),
            ("llmlog_store_up", "gauge", "1 when the last write reached the store; 0 while entries wait in "
             "the spill file or memory for it.", int(self.store_up)),
            ("llmlog_entries_written_total", "counter", "Entries written to the database.", self.entries_written),
            ("llmlog_entries_spilled_total", "counter", "Entries appended to the spill file.", self.entries_spilled),
            ("llmlog_entries_replayed_total", "counter", "Spilled entries later written.", self.entries_replayed),
            ("llmlog_entries_held", "gauge", "Entries held in memory because database and spill file both "
             "failed; retried, up to store.hold_size.", self.entries_held()),
            ("llmlog_entries_dropped_total", "counter", "Entries not stored: refused by the database (kept in "
             "the .spill.rejected file), or lost when database, spill file and the in-memory hold all "
             "failed or at shutdown while held.", self.entries_dropped),
            ("llmlog_write_errors_total", "counter", "Failed batch writes.", self.write_errors),
            ("llmlog_spill_errors_total", "counter", "Failed spill file appends (nothing kept of them; "
             "the entries were held in memory).", self.spill_errors),
            ("llmlog_spill_records_torn_total", "counter", "Spill records skipped on replay as torn "
             "(a crash mid-append) or unreadable.", self.spill_records_torn),
            ("llmlog_writer_batches_total", "counter", "Batches written.", self.batches),
            ("llmlog_writer_batch_seconds_total", "counter", "Time spent writing batches.", self.batch_seconds),
            ("llmlog_checkpoints_total", "counter", "Background WAL checkpoint passes.", self.checkpoints),
            ("llmlog_wal_pages", "gauge", "WAL length in pages at the last checkpoint pass.", self.wal_pages),
            ("llmlog_price_refreshes_total", "counter", "Price tables rebuilt from the fetched price file "
             "(pricing.refresh_hours).", self.price_refreshes),
            ("llmlog_price_refresh_failures_total", "counter", "Price refreshes that failed and kept the "
             "table in use.", self.price_refresh_failures),
        ):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
