"""`/metrics` through prometheus_client: per-call counters and histograms, and the pipeline's counts.

Each app has its own `CollectorRegistry` (never the process-wide default), so several apps in one
process (the tests) keep their own figures. Per-call figures are recorded by the pipeline once an
entry is built (`record`), never on the request path. The pipeline's counts live in `Metrics`
(proxy/metrics.py) and are read only when scraped (`_PipelineCounts`), under the names /metrics
has always had.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from llmlog.proxy.metrics import Metrics
from llmlog.store.rows import Entry

# LLM calls take from a fraction of a second (a short answer) to minutes (a long reasoning stream);
# the first byte comes sooner, mostly within a few seconds
DURATION_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFB_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
# token types as entries count them (DESIGN §4): input includes cached input; output includes reasoning
TOKEN_TYPES = (("input", "input_tokens"), ("cached_input", "cached_input_tokens"),
               ("cache_write", "cache_write_tokens"), ("output", "output_tokens"),
               ("reasoning", "reasoning_tokens"))
OTHER_MODEL, UNKNOWN_MODEL = "other", "unknown"
MAX_MODEL_CHARS = 100
CALL_LABELS = ("provider", "model", "status")


class ModelLabels:
    """Model names come from clients, so the label takes at most `limit` distinct values (the first
    seen, each cut to MAX_MODEL_CHARS); calls of any further model count under "other"."""

    def __init__(self, limit: int):
        self.limit = limit
        self._kept: set[str] = set()

    def __call__(self, model: str | None) -> str:
        if not model:
            return UNKNOWN_MODEL
        model = model[:MAX_MODEL_CHARS]
        if model in self._kept:
            return model
        if len(self._kept) >= self.limit:
            return OTHER_MODEL
        self._kept.add(model)
        return model


class PrometheusMetrics:
    """One app's registry: the calls' counters and histograms, and the pipeline's counts."""

    def __init__(self, counts: Metrics, *, max_models: int, labels: dict[str, str] | None = None):
        """`labels`: added to every series (`worker` under `serve --workers`: each worker counts its own)."""
        self.registry = registry = CollectorRegistry()
        self.labels = labels
        self.model_label = ModelLabels(max_models)
        self.calls = Counter("llmlog_calls", "Proxied calls by provider, model (as requested) and outcome.",
                             CALL_LABELS, registry=registry)
        self.tokens = Counter("llmlog_tokens", "Tokens by type: input (cached included), cached_input, "
                              "cache_write, output (reasoning included), reasoning.",
                              (*CALL_LABELS, "type"), registry=registry)
        self.cost = Counter("llmlog_cost_usd", "Cost of priced calls in USD.", CALL_LABELS, registry=registry)
        self.unpriced = Counter("llmlog_unpriced_calls", "Calls with no price for their model (not in "
                                "llmlog_cost_usd_total).", CALL_LABELS, registry=registry)
        self.duration = Histogram("llmlog_call_duration_seconds", "Time from the request to the answer's last byte.",
                                  CALL_LABELS, buckets=DURATION_BUCKETS_S, registry=registry)
        self.ttfb = Histogram("llmlog_time_to_first_byte_seconds", "Time from the request to the answer's first "
                              "byte (calls that got an answer).", CALL_LABELS, buckets=TTFB_BUCKETS_S,
                              registry=registry)
        registry.register(_PipelineCounts(counts))
        self._series: dict[tuple[str, str, str], _Series] = {}

    def record(self, entry: Entry) -> None:
        """Count one built entry (on the pipeline task, off the request path)."""
        row = entry.call
        labels = (row["provider"] or "", self.model_label(row["model"]), row["status"])
        series = self._series.get(labels) or self._add_series(labels)
        series.calls.inc()
        for kind, column in TOKEN_TYPES:
            tokens = row[column]  # type: ignore[literal-required]
            if tokens:
                series.tokens[kind].inc(tokens)
        if row["priced"]:
            nanos = row["cost_nanos"]
            series.cost.inc(nanos / 1e9 if nanos is not None else (row["cost_micros"] or 0) / 1e6)
        else:
            series.unpriced.inc()
        if row["duration_ms"] is not None:
            series.duration.observe(row["duration_ms"] / 1000)
        if row["ttfb_ms"] is not None:
            series.ttfb.observe(row["ttfb_ms"] / 1000)

    def _add_series(self, labels: tuple[str, str, str]) -> _Series:
        """The children of one label set, made once: `labels()` costs more than the counting itself.
        Series appear in /metrics as they are first used, so a never-seen token type has none."""
        series = _Series(self, labels)
        self._series[labels] = series
        return series

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition (Prometheus text, or OpenMetrics when the scraper asks for it) and its type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(_Labelled(self.registry, self.labels) if self.labels else self.registry), content_type


class _Labelled(Collector):
    """A registry's metrics with `labels` added to each sample."""

    def __init__(self, registry: CollectorRegistry, labels: dict[str, str]):
        self.registry, self.labels = registry, labels

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            labelled = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            labelled.samples = [sample._replace(labels={**sample.labels, **self.labels}) for sample in metric.samples]
            yield labelled


class _Series:
    """One (provider, model, status)'s children of each metric; a token type's made when first counted."""

    def __init__(self, metrics: PrometheusMetrics, labels: tuple[str, str, str]):
        self.calls = metrics.calls.labels(*labels)
        self.cost = metrics.cost.labels(*labels)
        self.unpriced = metrics.unpriced.labels(*labels)
        self.duration = metrics.duration.labels(*labels)
        self.ttfb = metrics.ttfb.labels(*labels)
        self.tokens = _TokenChildren(metrics.tokens, labels)


class _TokenChildren(dict[str, Any]):
    def __init__(self, counter: Counter, labels: tuple[str, str, str]):
        super().__init__()
        self.counter, self.labels = counter, labels

    def __missing__(self, kind: str) -> Any:
        child = self[kind] = self.counter.labels(*self.labels, kind)
        return child


class _PipelineCounts(Collector):
    """The pipeline's and the store's counts (`Metrics`), read at each scrape."""

    def __init__(self, counts: Metrics):
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        m = self.counts
        yield GaugeMetricFamily("llmlog_queue_depth", "Captured calls waiting for the writer.", m.queue_depth())
        yield GaugeMetricFamily("llmlog_store_up", "1 when the last write reached the store; 0 while entries "
                                "wait in the spill file or memory for it.", int(m.store_up))
        yield GaugeMetricFamily("llmlog_entries_held", "Entries held in memory because database and spill file "
                                "both failed; retried, up to store.hold_size.", m.entries_held())
        yield GaugeMetricFamily("llmlog_wal_pages", "WAL length in pages at the last checkpoint pass.", m.wal_pages)
        for name, help_text, value in (
            ("llmlog_entries_written", "Entries written to the database.", m.entries_written),
            ("llmlog_entries_written_for_workers", "Entries the other workers of `serve --workers` built that "
             "this one, their lead, wrote to a SQLite database (they count them too, as written).",
             m.entries_written_for_workers),
            ("llmlog_entries_spilled", "Entries appended to the spill file.", m.entries_spilled),
            ("llmlog_entries_replayed", "Spilled entries later written.", m.entries_replayed),
            ("llmlog_entries_dropped", "Entries not stored: refused by the database (kept in the .spill.rejected "
             "file), or lost when database, spill file and the in-memory hold all failed or at shutdown while "
             "held.", m.entries_dropped),
            ("llmlog_write_errors", "Failed batch writes.", m.write_errors),
            ("llmlog_spill_errors", "Failed spill file appends (nothing kept of them; the entries were held in "
             "memory).", m.spill_errors),
            ("llmlog_spill_records_torn", "Spill records skipped on replay as torn (a crash mid-append) or "
             "unreadable.", m.spill_records_torn),
            ("llmlog_writer_batches", "Batches written.", m.batches),
            ("llmlog_writer_batch_seconds", "Time spent writing batches.", m.batch_seconds),
            ("llmlog_checkpoints", "Background WAL checkpoint passes.", m.checkpoints),
            ("llmlog_price_refreshes", "Price tables rebuilt from the fetched price file (pricing.refresh_hours).",
             m.price_refreshes),
            ("llmlog_price_refresh_failures", "Price refreshes that failed and kept the table in use.",
             m.price_refresh_failures),
        ):
            yield CounterMetricFamily(name, help_text, value)
