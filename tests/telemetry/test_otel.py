"""The OpenTelemetry export received as a collector receives it: a loopback OTLP/HTTP receiver
decoding llmlog's requests with opentelemetry-proto, after known calls through the proxy."""

from __future__ import annotations

import asyncio
import gzip
import time
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import ConfigError, load_config
from llmlog.proxy.telemetry import observe
from tests.conftest import flushed
from tests.telemetry.calls import CLAUDE, KEY, chat, claude

TRACE_ID, PARENT_ID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


@dataclass
class Receiver:
    """What an OpenTelemetry collector would get on its OTLP/HTTP port."""

    bodies: dict[str, list[bytes]] = field(default_factory=lambda: {"/v1/traces": [], "/v1/metrics": []})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self.receive)
        app.router.add_post("/v1/metrics", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        body = await request.read()
        self.bodies[request.path].append(gzip.decompress(body) if request.headers.get("Content-Encoding") == "gzip"
                                         else body)
        return web.Response(body=b"", content_type="application/x-protobuf")

    def spans(self) -> dict[str, Span]:
        """Each span by its llmlog.call_id."""
        spans = {}
        for body in self.bodies["/v1/traces"]:
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                assert value(resource.resource.attributes)["service.name"] == "llmlog"
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        spans[value(span.attributes)["llmlog.call_id"]] = span
        return spans

    def histograms(self, name: str) -> list[tuple[dict, int, float, list[int]]]:
        """(attributes, count, sum, bucket counts) of each point of the last export of metric `name`."""
        points: list = []
        for body in self.bodies["/v1/metrics"]:
            for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        if metric.name == name:
                            points = [(value(p.attributes), p.count, p.sum, list(p.bucket_counts))
                                      for p in metric.histogram.data_points]
        return points


def value(attributes) -> dict:
    """OTLP key/values as plain Python (arrays as lists)."""
    def plain(v: AnyValue):
        kind = v.WhichOneof("value")
        return [plain(x) for x in v.array_value.values] if kind == "array_value" else getattr(v, kind)
    return {kv.key: plain(kv.value) for kv in attributes}


@pytest.fixture
async def receiver(aiohttp_server, monkeypatch):
    got = Receiver()
    server = await aiohttp_server(got.app(), host="127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", str(server.make_url("")).rstrip("/"))
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    return got


async def stored(client, call_id: str) -> dict:
    return await (await client.get(f"/v1/logs/{call_id}")).json()


def epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


async def test_each_call_is_a_genai_span_with_its_measurements(two_providers, receiver):
    client = await two_providers("[otel]\nenabled = true\n")
    plain = await chat(client, "hello world")
    stream = await chat(client, "a b c", stream=True, stream_options={"include_usage": True})
    failed = await chat(client, model="bad-model")
    joined = await chat(client, "x y", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    anthropic = await claude(client)
    await flushed(client)
    entries = {call_id: await stored(client, call_id) for call_id in (plain, stream, failed, joined, anthropic)}
    await client.close()  # shutdown: the pipeline drains, then the export flushes

    spans = receiver.spans()
    assert set(spans) == set(entries)
    common = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.finish_reasons": ["stop"]}
    for call_id, (input_tokens, output_tokens) in ((plain, (11, 3)), (stream, (12, 4)), (joined, (11, 3))):
        span = spans[call_id]
        assert span.name == "chat gpt-4o-mini" and span.kind == Span.SpanKind.SPAN_KIND_CLIENT
        attributes = value(span.attributes)
        assert {k: attributes[k] for k in common} == common
        assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) \
            == (input_tokens, output_tokens)
        assert span.status.code == Status.STATUS_CODE_UNSET and not span.events
    assert value(spans[stream].attributes)["llmlog.stream"] is True

    claude_span = value(spans[anthropic].attributes)
    assert spans[anthropic].name == f"chat {CLAUDE}"
    assert {k: claude_span[k] for k in ("gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
                                        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                                        "gen_ai.usage.cache_read.input_tokens", "gen_ai.response.finish_reasons")} \
        == {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": CLAUDE, "gen_ai.response.model": CLAUDE,
            "gen_ai.usage.input_tokens": 4700, "gen_ai.usage.output_tokens": 321,
            "gen_ai.usage.cache_read.input_tokens": 3000, "gen_ai.response.finish_reasons": ["end_turn"]}
    assert claude_span["llmlog.cost_usd"] == pytest.approx(0.01119)

    assert spans[failed].status.code == Status.STATUS_CODE_ERROR
    failure = value(spans[failed].attributes)
    assert failure["error.type"] == "400" and failure["http.response.status_code"] == 400
    assert "gen_ai.usage.input_tokens" not in failure  # no usage in an error answer: none, not 0

    # the call's own times; the caller's trace joined, others each a trace of their own
    for call_id, span in spans.items():
        entry = entries[call_id]
        assert abs(span.start_time_unix_nano / 1e6 - epoch_ms(entry["started_at"])) <= 1
        assert (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6 == pytest.approx(entry["duration_ms"],
                                                                                               abs=0.01)
    assert spans[joined].trace_id.hex() == TRACE_ID and spans[joined].parent_span_id.hex() == PARENT_ID
    assert all(not spans[c].parent_span_id and spans[c].trace_id.hex() != TRACE_ID for c in (plain, stream))

    raw = b"".join(receiver.bodies["/v1/traces"] + receiver.bodies["/v1/metrics"])
    assert KEY.encode() not in raw and b"hello world" not in raw  # no secrets; no content without opt-in

    tokens = {(a["gen_ai.request.model"], a["gen_ai.token.type"]): (count, total)
              for a, count, total, _ in receiver.histograms("gen_ai.client.token.usage")}
    assert tokens == {("gpt-4o-mini", "input"): (3, 11 + 12 + 11), ("gpt-4o-mini", "output"): (3, 3 + 4 + 3),
                      (CLAUDE, "input"): (1, 4700), (CLAUDE, "output"): (1, 321)}
    durations = {(a["gen_ai.request.model"], a.get("error.type")): count
                 for a, count, _, _ in receiver.histograms("gen_ai.client.operation.duration")}
    assert durations == {("gpt-4o-mini", None): 3, ("bad-model", "400"): 1, (CLAUDE, None): 1}


async def test_content_only_when_opted_in_and_never_under_do_not_track(two_providers, receiver):
    client = await two_providers("[otel]\nenabled = true\ncapture_content = true\n")
    shared = await chat(client, "hello world")
    private = await chat(client, "secret words", headers={"x-debug": "false"})
    await client.close()

    spans = receiver.spans()
    events = {e.name: value(e.attributes) for e in spans[shared].events}
    assert "hello world" in events["gen_ai.content.prompt"]["gen_ai.prompt"]
    assert events["gen_ai.content.completion"] == {"gen_ai.completion": "Echo: hello world"}
    assert not spans[private].events
    assert value(spans[private].attributes)["gen_ai.usage.input_tokens"] == 11  # the call itself is exported
    assert b"secret words" not in b"".join(receiver.bodies["/v1/traces"])


def test_enabled_without_the_sdk_is_one_config_error(monkeypatch, db_path):
    monkeypatch.setattr(observe, "OTEL_MODULES", ("opentelemetry.sdk", "opentelemetry_not_installed.exporter"))
    config = load_config(None, env={"LLMLOG_OTEL_ENABLED": "true", "LLMLOG_DB": db_path})
    with pytest.raises(ConfigError, match=r"otel.enabled needs .*pip install 'llmlog\[otel\]'"):
        make_app(config)


async def test_a_collector_that_never_answers_does_not_hold_up_shutdown(two_providers, aiohttp_server, monkeypatch):
    """The SDK's own shutdown waits up to 30 s for the spans and as long again for the metrics, 10 s an
    attempt: past systemd's TimeoutStopSec and Docker's stop timeout, which then kill llmlog."""
    async def never_answers(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()
    silent = web.Application()
    silent.router.add_post("/v1/traces", never_answers)
    silent.router.add_post("/v1/metrics", never_answers)
    server = await aiohttp_server(silent, host="127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", str(server.make_url("")).rstrip("/"))
    client = await two_providers("[otel]\nenabled = true\n")
    await chat(client, "hello world")
    await flushed(client)
    started = time.monotonic()
    await client.close()
    assert time.monotonic() - started < observe.OTEL_SHUTDOWN_S + 2
