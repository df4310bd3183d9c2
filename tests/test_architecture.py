"""The request path never touches the database, tokenizes or prices (DESIGN §1; issue 7 acceptance 3).

Guards the architecture, not a timing: the route handler runs inside a context variable; every
database entry point (sqlite3 statements via a trace callback, StoreThread.run, write_batch),
tokenizer and pricing function records whether it ran inside that context. Proxied JSON and
streamed calls must leave only records from outside the handler (the pipeline), and some of each.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import sys

import pytest

import pricing.prices.cost
import pricing.usage.estimate
import pricing.usage.read
import proxy.app
import store.runner
import store.sqlite.writer
from proxy.forward.handler import Forwarder
from tests.conftest import chat_body as chat, flushed
from proxy.state import PIPELINE

CHAT = "/v1/chat/completions"
IN_HANDLER: contextvars.ContextVar[bool] = contextvars.ContextVar("in_handler", default=False)
GUARDED = [(pricing.usage.read, "parse_response"), (pricing.usage.read, "parse_request"), (pricing.prices.cost, "compute_cost"),
           (pricing.usage.estimate, "estimate_usage"), (pricing.usage.estimate, "count_text_tokens"),
           (store.sqlite.writer, "write_batch")]


class Calls:
    """(name, ran inside the handler) for every guarded call."""

    def __init__(self):
        self.seen: list[tuple[str, bool]] = []

    def record(self, name: str) -> None:
        self.seen.append((name, IN_HANDLER.get()))

    def inside(self) -> list[str]:
        return sorted({name for name, inside in self.seen if inside})

    def outside(self) -> set[str]:
        return {name for name, inside in self.seen if not inside}


def _wrap_everywhere(monkeypatch, module, name: str, calls: Calls) -> None:
    """Replace a function in its module and in every module that imported it by name."""
    original = getattr(module, name)

    def guarded(*args, **kwargs):
        calls.record(name)
        return original(*args, **kwargs)

    for mod in list(sys.modules.values()):
        if getattr(mod, "__dict__", {}).get(name) is original:
            monkeypatch.setattr(mod, name, guarded)


@pytest.fixture
def calls(monkeypatch):
    calls = Calls()
    for module, name in GUARDED:
        _wrap_everywhere(monkeypatch, module, name, calls)

    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        calls.record("sqlite3.connect")
        conn = real_connect(*args, **kwargs)
        # runs on the thread executing each statement; a handler awaiting to_thread would carry its context
        conn.set_trace_callback(lambda sql: calls.record("sqlite3 statement"))
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)

    real_run = store.runner.StoreThread.run

    async def run(self, fn):
        calls.record("StoreThread.run")
        return await real_run(self, fn)

    monkeypatch.setattr(store.runner.StoreThread, "run", run)

    real_forward = proxy.app.forward

    async def forward(request):
        token = IN_HANDLER.set(True)
        try:
            return await real_forward(request)
        finally:
            IN_HANDLER.reset(token)

    monkeypatch.setattr(proxy.app, "forward", forward)  # make_app registers the module-level handler
    return calls


async def _proxied_calls(client) -> None:
    json_resp = await client.post(CHAT, data=chat("plain json call"))
    assert json_resp.status == 200 and (await json_resp.json())["usage"]["total_tokens"] > 0
    # a stream without usage: the pipeline must estimate tokens with the tokenizer
    streamed = await client.post(CHAT, data=chat("stream me", stream=True))
    assert b"data: [DONE]" in await streamed.read()
    with_usage = await client.post(CHAT, data=chat("stream with usage", stream=True,
                                                   stream_options={"include_usage": True}))
    assert b'"usage":{' in await with_usage.read()
    dnt = await client.post(CHAT, data=chat("not tracked"), headers={"x-debug": "false"})
    assert dnt.status == 200
    await flushed(client)


async def test_handler_path_does_no_database_tokenizing_or_pricing(calls, make_proxy):
    client = await make_proxy()
    await _proxied_calls(client)
    assert calls.inside() == []
    # the guards saw the work happen, in the pipeline
    assert calls.outside() >= {"parse_response", "parse_request", "compute_cost", "estimate_usage",
                               "count_text_tokens", "write_batch", "sqlite3 statement",
                               "StoreThread.run"}
    entries = (await (await client.get("/v1/logs")).json())["logs"]
    assert sorted(e["usage_source"] for e in entries) == ["estimated", "provider", "provider", "provider"]


async def test_the_guard_catches_a_handler_that_awaits_the_database(calls, make_proxy, monkeypatch, db_path):
    """The guard itself can fail: a handler that awaits a query in a thread is caught."""
    original = Forwarder.handle

    async def handle(self, request):
        await asyncio.to_thread(lambda: sqlite3.connect(db_path).execute("SELECT 1").fetchall())
        return await original(self, request)

    monkeypatch.setattr(Forwarder, "handle", handle)
    client = await make_proxy()
    assert (await client.post(CHAT, data=chat("leaky"))).status == 200
    await flushed(client)
    assert calls.inside() == ["sqlite3 statement", "sqlite3.connect"]


async def test_a_full_queue_still_keeps_parsing_and_pricing_off_the_handler(calls, make_proxy, monkeypatch):
    client = await make_proxy(store__queue_size=1, store__batch_interval_ms=0)
    pipeline = client.app[PIPELINE]
    gate = asyncio.Event()
    real_write = pipeline._write

    async def stalled_write(entries):
        await gate.wait()
        await real_write(entries)

    monkeypatch.setattr(pipeline, "_write", stalled_write)
    for i in range(4):  # one in the writer, one queued, the rest find the queue full
        assert (await client.post(CHAT, data=chat(f"call {i}"))).status == 200
    gate.set()
    await flushed(client)
    assert calls.inside() == []
