"""/metrics read as Prometheus reads it (prometheus_client's own parser) after known calls through
the proxy: a JSON chat, a stream, an upstream error and an Anthropic call."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import flushed
from tests.telemetry.calls import CLAUDE, KEY, chat, claude

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
OPENAI = ("openai", "gpt-4o-mini", "success")
FAILED = ("openai", "bad-model", "error")
ANTHROPIC = ("anthropic", CLAUDE, "success")


async def scrape(client) -> dict[tuple, float]:
    """Every sample: (sample name, provider, model, status[, type or le]) -> value."""
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            labels = dict(sample.labels)
            key = tuple(labels.pop(name) for name in ("provider", "model", "status") if name in labels)
            samples[(sample.name, *key, *labels.values())] = sample.value
    return samples


async def stored_costs(client) -> dict[str, float]:
    """Each model's summed cost_usd as the logs API shows the stored entries."""
    sums: dict[str, float] = {}
    for entry in (await (await client.get("/v1/logs")).json())["logs"]:
        sums[entry["model"]] = sums.get(entry["model"], 0.0) + (entry["cost_usd"] or 0.0)
    return sums


async def test_counts_tokens_cost_and_latency_buckets(two_providers, fake):
    client = await two_providers()
    fake.header_delay_s = 0.6  # the JSON chat: past the 0.5 s buckets; the rest well within them
    await chat(client, "hello world")
    fake.header_delay_s = 0.0
    await chat(client, "a b c", stream=True, stream_options={"include_usage": True})
    await chat(client, model="bad-model")
    await claude(client)
    await flushed(client)
    m = await scrape(client)

    assert {key[1:]: value for key, value in m.items() if key[0] == "llmlog_calls_total"} == {
        OPENAI: 2, FAILED: 1, ANTHROPIC: 1}
    tokens = {key[1:]: value for key, value in m.items() if key[0] == "llmlog_tokens_total"}
    assert tokens == {
        (*OPENAI, "input"): 11 + 12, (*OPENAI, "output"): 3 + 4,
        (*ANTHROPIC, "input"): 4700, (*ANTHROPIC, "cached_input"): 3000, (*ANTHROPIC, "cache_write"): 500,
        (*ANTHROPIC, "output"): 321}
    costs = await stored_costs(client)
    assert m[("llmlog_cost_usd_total", *ANTHROPIC)] == pytest.approx(0.01119)
    # gpt-4o-mini: $0.15 and $0.60 per million input and output tokens
    assert costs["gpt-4o-mini"] == pytest.approx((23 * 0.15 + 7 * 0.60) / 1e6)
    assert m[("llmlog_cost_usd_total", *OPENAI)] == pytest.approx(costs["gpt-4o-mini"], rel=1e-9)
    assert m[("llmlog_unpriced_calls_total", *FAILED)] == 1

    duration = {key[4]: value for key, value in m.items()
                if key[0] == "llmlog_call_duration_seconds_bucket" and key[1:4] == OPENAI}
    assert (duration["0.25"], duration["0.5"], duration["1.0"], duration["+Inf"]) == (1, 1, 2, 2)
    assert m[("llmlog_call_duration_seconds_count", *OPENAI)] == 2
    assert 0.6 < m[("llmlog_call_duration_seconds_sum", *OPENAI)] < 2.5
    ttfb = {key[4]: value for key, value in m.items()
            if key[0] == "llmlog_time_to_first_byte_seconds_bucket" and key[1:4] == OPENAI}
    assert (ttfb["0.5"], ttfb["0.75"], ttfb["+Inf"]) == (1, 2, 2)
    assert m[("llmlog_call_duration_seconds_count", *ANTHROPIC)] == 1

    # the names /metrics always had
    assert m[("llmlog_entries_written_total",)] == 4 and m[("llmlog_queue_depth",)] == 0
    assert m[("llmlog_entries_dropped_total",)] == 0 and m[("llmlog_store_up",)] == 1
    assert KEY not in (await (await client.get("/metrics")).text())


async def test_model_labels_are_capped(two_providers):
    client = await two_providers("[metrics]\nmax_models = 2\n")
    for model in ("m-one", "m-two", "m-three", "m-four", "m-one"):
        await chat(client, model=model)
    await flushed(client)
    m = await scrape(client)
    assert {key[2]: value for key, value in m.items() if key[0] == "llmlog_calls_total"} == {
        "m-one": 2, "m-two": 1, "other": 2}


async def test_openmetrics_when_asked(two_providers):
    client = await two_providers()
    resp = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await resp.text()).endswith("# EOF\n")


async def test_grafana_dashboard_names_only_served_metrics(two_providers):
    client = await two_providers()
    await chat(client)
    await flushed(client)
    served = {key[0] for key in await scrape(client)}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    named = {name for expr in exprs for name in re.findall(r"\bllmlog_[a-z_]+", expr)}
    assert len(named) >= 12 and named - served == set()
