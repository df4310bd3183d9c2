"""The pipeline's promises: a full queue spills and replays exactly once, an entry the database
refuses for its data is set aside without holding back the rest, and a cancel always stops it."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from functools import partial

import orjson
import pytest

import llmlog.proxy.pipeline.worker as pipeline_module
from llmlog.proxy.app import Seams, make_app
from llmlog.proxy.forward.capture import CapturedCall, Chunks
from llmlog.proxy.forward.control import CallContext
from llmlog.proxy.ids import new_call_id
from llmlog.proxy.metrics import Metrics
from llmlog.proxy.pipeline.interpret import build_entry, fallback_entry
from llmlog.proxy.pipeline.worker import Pipeline
from llmlog.proxy.settings import Provider, load_config
from llmlog.proxy.state import METRICS, PIPELINE
from llmlog.store.backends import open_store
from llmlog.store.rows import CALL_COLUMNS, Entry
from llmlog.store.runner import StoreThread
from llmlog.store.spill import SpillFile, spill_path_for
from llmlog.store.sqlite.db import connect
from tests.conftest import CHAT, chat_body, flushed, metric, served, stored_ids, wait_until


def minimal_entry(call_id: str, **overrides) -> Entry:
    row = {c: None for c in CALL_COLUMNS}
    row.update(id=call_id, started_at=1_732_000_000_000, status="success", stream=0, usage_source="none",
               priced=0, depth=0, do_not_track=0, has_content=0)
    row.update(overrides)
    return Entry(call=row)


def captured(call_id: str | None = None) -> CapturedCall:
    return CapturedCall(id=call_id or new_call_id(), provider=Provider("openai", "http://127.0.0.1:9", "/"),
                        method="POST", path=CHAT, query="", started_at_ms=1_732_000_000_000.0,
                        context=CallContext(), request_headers=[], request_body=b"{}", status_code=200)


async def test_full_queue_spills_then_replays_every_call_exactly_once(make_proxy, db_path, stalled_writes):
    proxy = await make_proxy(store__queue_size=2, store__batch_size=1)
    ids = []
    for i in range(10):
        resp = await proxy.post(CHAT, data=chat_body(f"queued {i}"))
        assert resp.status == 200
        ids.append(resp.headers["x-llmlog-id"])
    await wait_until(lambda: os.path.exists(spill_path_for(db_path)))
    stalled_writes.set()
    await flushed(proxy)
    await wait_until(lambda: len(stored_ids(db_path)) == 10)
    assert sorted(stored_ids(db_path)) == sorted(ids)
    # the rows are visible a moment before the replay that wrote them counts them
    counts = proxy.app[PIPELINE].metrics
    await wait_until(lambda: counts.entries_replayed == counts.entries_spilled)
    metrics = await (await proxy.get("/metrics")).text()
    spilled = metric(metrics, "llmlog_entries_spilled_total")
    assert spilled >= 6  # one being written, one built and waiting for it, two queued: the rest spilled
    assert metric(metrics, "llmlog_entries_replayed_total") == spilled
    assert metric(metrics, "llmlog_entries_dropped_total") == 0


async def test_an_entry_the_database_refuses_is_set_aside_and_the_batch_is_kept(make_proxy, db_path):
    def build(call, prices, max_body_bytes, privacy):  # the middle call: an entry the schema refuses (NULL started_at)
        entry = build_entry(call, prices, max_body_bytes, privacy)
        if b"poison" in call.request_body:
            entry.call["started_at"] = None
        return entry

    proxy = await make_proxy(store__batch_interval_ms=300, seams=Seams(build_entry=build))
    responses = await asyncio.gather(*(proxy.post(CHAT, data=chat_body(text)) for text in ("a", "poison", "b")))
    ids = {(await r.json())["choices"][0]["message"]["content"]: r.headers["x-llmlog-id"] for r in responses}
    await flushed(proxy)
    assert sorted(stored_ids(db_path)) == sorted([ids["Echo: a"], ids["Echo: b"]])
    kept = [orjson.loads(line) for line in open(db_path + ".spill.rejected", "rb")]
    assert [r["call"]["id"] for r in kept] == [ids["Echo: poison"]] and "NOT NULL" in kept[0]["reason"]
    metrics = await (await proxy.get("/metrics")).text()
    assert metric(metrics, "llmlog_entries_dropped_total") == 1
    assert metric(metrics, "llmlog_write_errors_total") == 0


NOT_NULL_REFUSAL = {"sqlite": "NOT NULL", "postgresql": "not-null"}  # how each database words the refusal


@pytest.mark.backends
def test_a_refused_entry_in_the_spill_file_does_not_hold_back_the_rest(tmp_path, db_path, backend):
    store = open_store(db_path)
    spill = SpillFile(str(tmp_path / "poison.spill"))
    good = [minimal_entry(f"01GOOD{i}") for i in range(3)]
    bad = minimal_entry("01BAD", started_at=None)
    try:
        assert spill.append([good[0], bad, *good[1:]]) == 4
        assert spill.replay(store) == 3
        assert sorted(stored_ids(db_path)) == ["01GOOD0", "01GOOD1", "01GOOD2"]
        assert not spill.pending()
        kept = [orjson.loads(line) for line in open(spill.rejected_path, "rb")]
        assert [r["call"]["id"] for r in kept] == ["01BAD"] and NOT_NULL_REFUSAL[backend] in kept[0]["reason"]
        assert spill.replay(store) == 0  # set aside for a person, never retried
    finally:
        store.close()


def bare_pipeline(tmp_path, name: str, *, batch_size: int = 10, batch_interval_s: float = 0.05):
    """A pipeline on a fresh database that stores every call as its fallback entry (no parsing):
    (database path, writer thread, pipeline)."""
    db = str(tmp_path / f"{name}.db")
    connect(db).close()
    writer = StoreThread(lambda: open_store(db), "test-writer")
    pipeline = Pipeline(writer, SpillFile(spill_path_for(db)), partial(fallback_entry, reason="test"),
                        fallback_entry, Metrics(), queue_size=100, batch_size=batch_size,
                        batch_interval_s=batch_interval_s)
    return db, writer, pipeline


async def test_a_cancel_racing_a_submitted_call_still_stops_the_pipeline(tmp_path):
    """On Python 3.11 `asyncio.wait_for` returned the queue item and swallowed a cancel that arrived
    in the same loop turn, so shutdown waited forever on the pipeline task."""
    db, writer, pipeline = bare_pipeline(tmp_path, "race")
    call_id = new_call_id()
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.05)  # the task now waits for the first call
    pipeline.submit(captured(call_id))
    task.cancel()  # same loop turn: the queue's waiter is already resolved
    done, _ = await asyncio.wait({task}, timeout=3)
    assert task in done and task.cancelled()
    await pipeline.close()  # the call that raced the cancel is still written
    await writer.close()
    assert stored_ids(db) == [call_id]


async def test_a_cancel_while_a_stream_entry_settles_still_writes_the_entry(tmp_path):
    """A long stream's entry waiting to settle is out of the queue but not built: `close` must
    still build and write it."""
    db, writer, pipeline = bare_pipeline(tmp_path, "settle")
    call = captured()
    call.chunks = Chunks((float(i), b"data: {}\n\n") for i in range(pipeline_module.SETTLE_FROM_CHUNKS))
    call.started_at_ms, call.duration_ms = time.time() * 1000, 0.0  # a long stream that just ended
    task = asyncio.create_task(pipeline.run())
    pipeline.submit(call)
    await asyncio.sleep(0.002)  # taken, now settling
    assert pipeline.queue.empty() and pipeline._taken is call
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    assert task in done and task.cancelled()
    await pipeline.close()
    await writer.close()
    assert stored_ids(db) == [call.id]


async def test_settling_stream_entries_keep_pace_with_a_steady_load(make_proxy, fake):
    """Every long stream's entry waits to settle; the waits overlap, so entries are written while
    the load goes on, not after it."""
    client = await make_proxy()
    fake.header_delay_s, fake.chunk_delay_s = 0.05, 0.002  # chunks arrive apart: each entry settles
    metrics = client.app[METRICS]
    stop = asyncio.Event()
    sent = 0
    body = orjson.dumps({"model": "gpt-4o-mini", "stream": True,
                         "messages": [{"role": "user", "content": "one two three four five six seven eight nine"}]})

    async def caller():
        nonlocal sent
        while not stop.is_set():
            resp = await client.post(CHAT, data=body)
            assert len((await resp.read()).split(b"\n\n")) > pipeline_module.SETTLE_FROM_CHUNKS
            sent += 1

    callers = [asyncio.create_task(caller()) for _ in range(20)]
    # Midway is counted in calls, not seconds: a slow machine sends fewer streams per second, and
    # the property is about how far the writes trail the calls, not about the machine's speed.
    deadline = time.monotonic() + 20
    while sent < 120 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    written_midway, sent_midway = metrics.entries_written, sent
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*callers)
    print(f"[settle] {sent_midway} streams sent, {written_midway} already written")
    assert sent_midway >= 120 and written_midway > sent_midway / 2, (written_midway, sent_midway)
    await asyncio.wait_for(flushed(client), 5)
    assert metrics.entries_written == sent


async def test_a_batch_is_written_at_its_interval_while_calls_keep_trickling_in(tmp_path):
    """Calls arriving one by one, never enough to fill a batch, must not hold the batch open:
    each entry is written within about one batch interval of its submit."""
    db, writer, pipeline = bare_pipeline(tmp_path, "trickle", batch_size=1000, batch_interval_s=0.1)
    metrics = pipeline.metrics
    task = asyncio.create_task(pipeline.run())
    try:
        first = new_call_id()
        pipeline.submit(captured(first))
        started = time.monotonic()
        while time.monotonic() - started < 0.35:  # keep the batch's wait busy with new calls
            await asyncio.sleep(0.01)
            pipeline.submit(captured(new_call_id()))
        assert metrics.entries_written >= 1 and metrics.batches >= 2
        assert first in stored_ids(db)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pipeline.close()
        await writer.close()


async def test_when_the_spill_file_is_stuck_too_the_overflow_stays_bounded_and_every_drop_counts(
        make_proxy, db_path, stalled_writes):
    import threading
    proxy = await make_proxy(store__queue_size=2, store__batch_size=1, store__hold_size=2)
    pipeline = proxy.app[PIPELINE]
    spill_gate = threading.Event()
    real_append = pipeline.spill.append

    def stuck_append(entries):  # a spill file on a stalled disk: the write does not return
        spill_gate.wait(10)
        return real_append(entries)

    pipeline.spill.append = stuck_append
    try:
        for i in range(20):
            resp = await proxy.post(CHAT, data=chat_body(f"call {i}"))
            assert resp.status == 200  # the client never waits for logging
            assert len(pipeline._overflow) <= 2
    finally:
        spill_gate.set()
        stalled_writes.set()
    await flushed(proxy)
    metrics = await (await proxy.get("/metrics")).text()
    dropped = metric(metrics, "llmlog_entries_dropped_total")
    assert dropped > 0
    await wait_until(lambda: len(stored_ids(db_path)) + dropped == 20)


@pytest.mark.parametrize("bad, name", [({"batch_size": 0}, "batch_size"), ({"batch_size": -3}, "batch_size"),
                                       ({"queue_size": 0}, "queue_size"), ({"hold_size": -1}, "hold_size"),
                                       ({"batch_interval_ms": 0}, "batch_interval_s")])
async def test_a_size_the_settings_refuse_cannot_start_a_pipeline_either(aiohttp_client, upstream, db_path, bad, name):
    """Settings made without the loader (dataclasses.replace) skip its ranges: the pipeline refuses
    them itself at start. With batch_size = 0 it served calls, then looped for ever over
    `_overflow[:0]` at full CPU, writing, spilling and counting none of them, deaf to SIGTERM."""
    config = load_config(None, env={}, overrides={"store.path": db_path},
                         upstream=str(upstream.make_url("")).rstrip("/"))
    app = make_app(replace(config, store=replace(config.store, **bad)))
    with pytest.raises(ValueError, match=f"Pipeline {name} must be"):
        await asyncio.wait_for(served(aiohttp_client, app), 10)


async def test_the_smallest_sizes_allowed_still_keep_every_call(make_proxy, db_path):
    """queue_size = 1 and batch_size = 1 with 30 calls at once: most overflow the queue, and every
    one is written (through the spill file or not); none dropped."""
    proxy = await make_proxy(store__queue_size=1, store__batch_size=1, store__batch_interval_ms=1)
    answers = await asyncio.gather(*(proxy.post(CHAT, data=chat_body(f"at once {i}")) for i in range(30)))
    assert [a.status for a in answers] == [200] * 30
    await asyncio.wait_for(flushed(proxy), 20)
    ids = {a.headers["x-llmlog-id"] for a in answers}
    # 30 one-entry writes, some through the spill file: the writer runs at niceness 10, so on a machine
    # busy with other work it can take well past the usual 10 s (a CI run beside a browser test did)
    await wait_until(lambda: set(stored_ids(db_path)) == ids, timeout_s=60)
    counts = proxy.app[METRICS]
    assert counts.entries_dropped == 0 and counts.entries_spilled > 0  # the overflow path was taken
