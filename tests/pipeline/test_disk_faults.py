"""Issue 14, items 8-10: a full disk, a torn spill write and a database deleted while running
lose no call that memory could hold, and /metrics counts what happened."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sqlite3
import threading
import zlib

import aiohttp
import orjson
import pytest

from llmlog.store.rows import Entry
from llmlog.store.spill import SpillFile, spill_path_for
from tests.conftest import CHAT, chat_body, flushed, metric, replay_spill_now, stored_ids, wait_until
from tests.e2e.test_process_lifecycle import drive, start_serve
from tests.pipeline.test_pipeline_durability import minimal_entry

# a full disk under SQLite's file, the spill file beside it, the file deleted while in use
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def full_database(store_faults):
    """The pipeline's batch writes fail as SQLite does on a full disk while `switch["on"]` is true."""
    switch = {"on": True}

    def write(real_write, conn, entries):
        if switch["on"]:
            raise sqlite3.OperationalError("database or disk is full")
        return real_write(conn, entries)

    store_faults.write_batch = write
    return switch


def full_disk_at(path: str) -> None:
    """Writes to `path` fail with ENOSPC, as on a full filesystem: it leads to /dev/full."""
    os.symlink("/dev/full", path)


async def call(client, text: str) -> str:
    resp = await client.post(CHAT, data=chat_body(text))
    assert resp.status == 200 and (await resp.json())["choices"][0]["message"]["content"] == f"Echo: {text}"
    return resp.headers["x-llmlog-id"]


async def metrics_of(client) -> str:
    return await (await client.get("/metrics")).text()


# -- item 8: disk full ---------------------------------------------------------------------------

async def test_disk_full_holds_entries_in_memory_and_writes_them_when_space_returns(make_proxy, db_path,
                                                                                   full_database):
    spill = spill_path_for(db_path)
    full_disk_at(spill)  # database and spill file on the same full filesystem
    proxy = await make_proxy()
    ids = [await call(proxy, f"full {i}") for i in range(12)]
    await flushed(proxy)
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_dropped_total") == 0
    assert metric(text, "llmlog_entries_held") == 12
    assert metric(text, "llmlog_entries_written_total") == 0
    assert metric(text, "llmlog_spill_errors_total") >= 1
    assert stored_ids(db_path) == []
    assert (await proxy.get(f"/v1/logs/{ids[0]}")).status == 404

    full_database["on"] = False  # space comes back
    os.remove(spill)
    await wait_until(lambda: len(stored_ids(db_path)) == 12)  # the retry comes within a second or so
    assert sorted(stored_ids(db_path)) == sorted(ids)
    for i, call_id in enumerate(ids):
        entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
        assert entry["output"]["text"] == f"Echo: full {i}"
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_written_total") == 12
    assert metric(text, "llmlog_entries_held") == 0
    assert metric(text, "llmlog_entries_dropped_total") == 0


async def test_disk_full_drops_only_beyond_the_memory_bound_and_counts_each_drop(make_proxy, db_path,
                                                                                full_database):
    full_disk_at(spill_path_for(db_path))
    proxy = await make_proxy(store__hold_size=4)
    ids = [await call(proxy, f"bound {i}") for i in range(10)]
    await flushed(proxy)
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_held") == 4
    assert metric(text, "llmlog_entries_dropped_total") == 6  # every call not held is counted
    full_database["on"] = False
    await wait_until(lambda: len(stored_ids(db_path)) == 4)
    assert sorted(stored_ids(db_path)) == sorted(ids[:4])  # the first held, the later ones dropped
    assert (await proxy.get(f"/v1/logs/{ids[0]}")).status == 200
    assert (await proxy.get(f"/v1/logs/{ids[9]}")).status == 404
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_written_total") == 4
    assert metric(text, "llmlog_entries_written_total") + metric(text, "llmlog_entries_dropped_total") == 10


async def test_the_spill_file_can_live_on_another_disk(make_proxy, db_path, tmp_path, full_database):
    elsewhere = tmp_path / "other-disk" / "calls.spill"
    elsewhere.parent.mkdir()
    full_disk_at(spill_path_for(db_path))  # the database's own disk is full
    proxy = await make_proxy(store__spill_path=str(elsewhere))
    ids = [await call(proxy, f"elsewhere {i}") for i in range(5)]
    await flushed(proxy)
    assert open(elsewhere, "rb").read().count(b"\n") == 5
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_spilled_total") == 5 and metric(text, "llmlog_entries_held") == 0
    full_database["on"] = False
    await wait_until(lambda: len(stored_ids(db_path)) == 5)
    assert sorted(stored_ids(db_path)) == sorted(ids)
    assert (await proxy.get(f"/v1/logs/{ids[-1]}")).status == 200
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_replayed_total") == 5
    assert metric(text, "llmlog_entries_dropped_total") == 0


# -- item 9: torn spill writes -------------------------------------------------------------------

def record(entry: Entry) -> bytes:
    return orjson.dumps(entry.to_record())


def frame(payload: bytes) -> bytes:
    """A spill record as written to disk: RS, length, CRC-32, payload, LF (store/spill.py)."""
    return b"\x1e%d %08x %s\n" % (len(payload), zlib.crc32(payload), payload)


async def test_a_torn_spill_record_is_skipped_alone_and_counted(make_proxy, db_path):
    """A spill file left by a crash mid-append (the torn record's tail never written, the next
    append straight after it), after lines of the earlier unframed format: every whole record
    replays when the server starts, and the torn one is counted."""
    legacy_ok, legacy_torn, legacy_next, whole, torn, after = (
        minimal_entry(f"01SPILL{i}", model="gpt-4o-mini") for i in range(6))
    with open(spill_path_for(db_path), "wb") as spill:
        spill.write(record(legacy_ok) + b"\n")  # an earlier version's spill file, itself torn once
        spill.write(record(legacy_torn)[:50] + record(legacy_next) + b"\n")
        spill.write(frame(record(whole)))
        spill.write(frame(record(torn))[:-40])
        spill.write(frame(record(after)))
    proxy = await make_proxy()
    await wait_until(lambda: len(stored_ids(db_path)) == 4)
    for entry in (legacy_ok, legacy_next, whole, after):
        assert (await proxy.get(f"/v1/logs/{entry.call['id']}")).status == 200
    for entry in (legacy_torn, torn):
        assert (await proxy.get(f"/v1/logs/{entry.call['id']}")).status == 404
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_replayed_total") == 4
    assert metric(text, "llmlog_spill_records_torn_total") == 2
    assert not os.path.exists(spill_path_for(db_path) + ".replaying")


def test_spill_records_are_framed_with_length_and_checksum(tmp_path):
    spill = SpillFile(str(tmp_path / "x.spill"))
    entries = [minimal_entry("01FRAMED0"), minimal_entry("01FRAMED1")]
    assert spill.append(entries) == 2
    assert open(spill.path, "rb").read() == b"".join(frame(record(e)) for e in entries)


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
async def test_a_spill_write_torn_by_a_full_disk_is_retried_and_nothing_is_lost(upstream, tmp_path, db_path):
    """A real server whose files may not grow past a few kilobytes (RLIMIT_FSIZE, set from outside
    with prlimit: a write crossing it is cut short, the next fails with EFBIG, as on a disk that
    fills mid-record) while the database is locked, so every batch goes to the spill file."""
    proc, base = await start_serve(db_path, str(upstream.make_url("")).rstrip("/"), tmp_path,
                                   "[store]\nbusy_timeout_ms = 100\nbatch_interval_ms = 20\nbatch_size = 2\n")
    spill = spill_path_for(db_path)
    held = threading.Event()
    release = threading.Event()

    def lock_database():
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=10)
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        release.wait(30)
        conn.execute("ROLLBACK")
        conn.close()

    locker = threading.Thread(target=lock_database)
    try:
        locker.start()
        assert held.wait(5)
        limit = 6000  # a few records fit, then one is cut short
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        ids = await drive(base, 40)
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                async with session.get(base + "/metrics") as resp:
                    during = await resp.text()
                if metric(during, "llmlog_entries_spilled_total") + metric(during, "llmlog_entries_held") \
                        + metric(during, "llmlog_entries_dropped_total") >= 40:
                    break
                await asyncio.sleep(0.05)
        assert os.path.getsize(spill) <= limit  # (small batches: usually some records fit first)
        assert metric(during, "llmlog_spill_errors_total") >= 1  # the limit really tore writes
        assert metric(during, "llmlog_entries_held") > 0
        assert metric(during, "llmlog_entries_dropped_total") == 0
        assert open(spill, "rb").read()[-1:] in (b"", b"\n")  # the torn record was cut back off

        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        release.set()
        locker.join()
        await wait_until(lambda: len(stored_ids(db_path)) == 40, 20)
        async with aiohttp.ClientSession() as session:
            for call_id in (ids[0], ids[-1]):
                async with session.get(f"{base}/v1/logs/{call_id}") as resp:
                    assert resp.status == 200 and (await resp.json())["id"] == call_id
            async with session.get(base + "/metrics") as resp:
                after = await resp.text()
    finally:
        release.set()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert sorted(stored_ids(db_path)) == sorted(ids)
    assert metric(after, "llmlog_entries_dropped_total") == 0
    assert metric(after, "llmlog_entries_held") == 0
    assert metric(after, "llmlog_spill_records_torn_total") == 0


# -- item 10: the database deleted while running -------------------------------------------------

async def test_a_database_deleted_while_running_is_recreated_and_later_calls_land_in_it(make_proxy, db_path,
                                                                                       caplog):
    proxy = await make_proxy()
    before = await call(proxy, "before")
    await flushed(proxy)
    assert (await proxy.get(f"/v1/logs/{before}")).status == 200
    for suffix in ("", "-wal", "-shm"):
        os.remove(db_path + suffix)
    with caplog.at_level("WARNING", logger="llmlog.store"):
        ids = [await call(proxy, f"after {i}") for i in range(3)]
        await flushed(proxy)
        await wait_until(lambda: os.path.exists(db_path) and len(stored_ids(db_path)) == 3)
        assert sorted(stored_ids(db_path)) == sorted(ids)
        for i, call_id in enumerate(ids):
            got = await proxy.get(f"/v1/logs/{call_id}")
            assert got.status == 200 and (await got.json())["output"]["text"] == f"Echo: after {i}"
    assert any("removed or replaced" in r.getMessage() for r in caplog.records)
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_entries_written_total") == 4  # one before, three after, each landed
    assert metric(text, "llmlog_entries_dropped_total") == 0
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_a_database_deleted_during_a_write_has_the_batch_written_again(make_proxy, db_path, store_faults):
    """Deleted after the pre-write check, before the commit: the batch went to the old file, so it
    is not counted as written; it is spilled and replayed into the new file."""
    proxy = await make_proxy()
    deleted = []

    def write_then_delete(real_write, conn, entries):
        written = real_write(conn, entries)
        if not deleted:
            deleted.append(True)
            for suffix in ("", "-wal", "-shm"):
                os.remove(db_path + suffix)
        return written

    store_faults.write_batch = write_then_delete
    call_id = await call(proxy, "torn away")
    await flushed(proxy)
    await replay_spill_now(proxy)
    await wait_until(lambda: os.path.exists(db_path) and stored_ids(db_path) == [call_id])
    assert (await proxy.get(f"/v1/logs/{call_id}")).status == 200
    text = await metrics_of(proxy)
    assert metric(text, "llmlog_write_errors_total") == 1
    assert metric(text, "llmlog_entries_written_total") == 1  # counted once, when it landed
    assert metric(text, "llmlog_entries_replayed_total") == 1
