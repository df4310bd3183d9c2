"""The optional OpenTelemetry export (`otel.enabled`, the `otel` extra): each call as a GenAI span,
and the `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` histograms, over
OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (the SDK reads it and the other standard OTEL_*
variables: headers, timeouts, service name, batch and export intervals).

Fed by the pipeline once an entry is built; the SDK's batch span processor and periodic metric
reader send from their own threads, so nothing here waits on the network. Each app has its own
providers (never the process-wide ones). `shutdown` flushes what is pending.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmlog.proxy.forward.capture import CapturedCall
from llmlog.proxy.telemetry.genai import error_type, span_attributes, span_name, trace_headers
from llmlog.proxy.telemetry.metrics import ModelLabels
from llmlog.store.rows import CallRow, Entry

# the GenAI conventions' advised bucket boundaries for the two histograms
DURATION_BUCKETS_S = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_PROPAGATOR = TraceContextTextMapPropagator()
# the span attributes the histograms carry too (bounded: models are capped, ids left out)
METRIC_ATTRIBUTES = ("gen_ai.operation.name", "gen_ai.provider.name", "server.address", "server.port")


class OtelExport:
    def __init__(self, *, capture_content: bool, max_models: int, version: str = ""):
        # OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) names the service when set
        named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
        resource = Resource.create({} if named else {"service.name": "llmlog"})
        self.capture_content = capture_content
        self.model_label = ModelLabels(max_models)  # metric attributes only: a span may name any model
        # shut down by the app (observe.otel_ctx, within a time limit), not again at exit
        self.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.meter_provider = MeterProvider(resource=resource, shutdown_on_exit=False,
                                            metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
        self.tracer = self.tracer_provider.get_tracer("llmlog", version)
        meter = self.meter_provider.get_meter("llmlog", version)
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S)

    def export(self, call: CapturedCall, entry: Entry) -> None:
        """Hand one call's span and measurements to the SDK (its threads send them)."""
        row = entry.call
        attributes = span_attributes(call, row)
        start_ns = int(call.started_at_ms * 1_000_000)
        end_ns = start_ns + int((row["duration_ms"] or 0.0) * 1_000_000)
        span = self.tracer.start_span(span_name(row), context=_PROPAGATOR.extract(trace_headers(call)),
                                      kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns)
        content = entry.content
        if self.capture_content and content is not None and not row["do_not_track"]:
            if content["prompt_text"] is not None:
                span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": content["prompt_text"]}, start_ns)
            if content["output_text"] is not None:
                span.add_event("gen_ai.content.completion", {"gen_ai.completion": content["output_text"]}, end_ns)
        failure = error_type(row)
        if failure is not None:
            span.set_status(Status(StatusCode.ERROR, f"{row['status']}: {failure}"))
        span.end(end_time=end_ns)
        self._measure(row, attributes, failure)

    def _measure(self, row: CallRow, span_attributes: dict[str, Any], failure: str | None) -> None:
        common: dict[str, Any] = {name: span_attributes[name] for name in METRIC_ATTRIBUTES if name in span_attributes}
        common["gen_ai.request.model"] = self.model_label(row["model"])
        if row["response_model"]:
            common["gen_ai.response.model"] = self.model_label(row["response_model"])
        duration = {**common, "error.type": failure} if failure else common
        self.duration.record((row["duration_ms"] or 0.0) / 1000, duration)
        if row["usage_source"] == "none":
            return
        for kind, tokens in (("input", row["input_tokens"]), ("output", row["output_tokens"])):
            if tokens is not None:
                self.token_usage.record(tokens, {**common, "gen_ai.token.type": kind})

    def shutdown(self) -> None:
        """Send what is pending and stop the SDK's threads (blocking: call it from a thread)."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
