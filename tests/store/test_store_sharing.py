"""Several processes on one store: background work runs once, a job another process runs is left
alone, an export file is read back in pieces, and the store's state shows in /healthz and /metrics.

A second `Store` opened on the same location stands for another replica (for SQLite, another
process's claim: flock locks conflict between open file descriptions, as between processes)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

import llmlog.proxy.pipeline.export_jobs as export_jobs
from llmlog.proxy.app import Seams
from llmlog.proxy.pipeline.retention import run_retention_once
from llmlog.store.backends import open_store
from llmlog.store.filters import LogFilter
from llmlog.store.runner import StoreThread
from tests.conftest import flushed
from tests.fakes.faulty_store import opener
from tests.fakes.seeding import make_entry, seed

DAY = 86_400_000
pytestmark = pytest.mark.backends  # claims: a lock file beside SQLite's, an advisory lock on PostgreSQL


async def _job_done(client, job_id: str) -> dict:
    for _ in range(200):
        job = await (await client.get(f"/v1/logs/exports/{job_id}")).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.02)
    raise AssertionError("export job did not finish")


async def test_retention_runs_in_the_replica_that_claims_it_and_is_skipped_by_the_others(db_path):
    now = int(time.time() * 1000)
    seed(db_path, [make_entry(now - 40 * DAY + i) for i in range(3)] + [make_entry(now - i) for i in range(2)])
    other_replica = open_store(db_path)
    assert other_replica.try_exclusive("retention")
    ours = StoreThread(lambda: open_store(db_path), "test-retention")
    try:
        await run_retention_once(ours, 30, 0, now)
        assert (await ours.run(lambda s: s.count(LogFilter()))) == 5  # the other one holds the pass
        other_replica.release_exclusive("retention")
        await run_retention_once(ours, 30, 0, now)
        assert (await ours.run(lambda s: s.count(LogFilter()))) == 2
        assert other_replica.try_exclusive("retention")  # the pass let go of its claim
    finally:
        other_replica.close()
        await ours.close()


def test_a_claim_is_let_go_when_its_store_closes(db_path):
    first, second = open_store(db_path), open_store(db_path)
    try:
        assert first.try_exclusive("reprice") and first.try_exclusive("reprice")  # held: asking again is fine
        assert not second.try_exclusive("reprice")
        first.close()
        assert second.try_exclusive("reprice")
    finally:
        second.close()


def test_reprice_refuses_while_another_reprice_runs(db_path):
    from click.testing import CliRunner

    from llmlog.cli import main
    seed(db_path, [make_entry(int(time.time() * 1000))])
    other = open_store(db_path)
    try:
        assert other.try_exclusive("reprice")
        result = CliRunner().invoke(main, ["reprice", "--db", db_path])
        assert result.exit_code == 1 and "another `llmlog reprice` is running" in result.output
    finally:
        other.close()
    result = CliRunner().invoke(main, ["reprice", "--db", db_path])
    assert result.exit_code == 0 and "repriced 1 calls" in result.output


async def test_a_job_another_replica_is_running_is_not_failed_at_start(make_proxy, db_path):
    now = int(time.time() * 1000)
    seed(db_path, [make_entry(now)])
    other = open_store(db_path)
    other.create_job("JOBELSEWHERE", "jsonl", None, {}, now)
    other.create_job("JOBORPHANED", "jsonl", None, {}, now)
    assert other.try_exclusive("export-JOBELSEWHERE")
    assert other.start_job("JOBELSEWHERE", other.export_path("JOBELSEWHERE", "jsonl"), now)
    assert other.start_job("JOBORPHANED", other.export_path("JOBORPHANED", "jsonl"), now)
    try:
        client = await make_proxy()
        elsewhere = await (await client.get("/v1/logs/exports/JOBELSEWHERE")).json()
        orphaned = await (await client.get("/v1/logs/exports/JOBORPHANED")).json()
        assert elsewhere["status"] == "running"  # its replica still runs it
        assert orphaned["status"] == "failure"  # nobody does
        assert (await client.post("/v1/logs/exports/JOBELSEWHERE/start")).status == 409
    finally:
        other.close()


async def test_an_export_file_larger_than_a_chunk_downloads_whole(make_proxy, db_path):
    now = int(time.time() * 1000)
    ids = seed(db_path, [make_entry(now - i, prompt=f"prompt number {i} " * 5) for i in range(40)])
    open_store_in_pieces = opener(db_path, export_chunk_bytes=1000)
    client = await make_proxy(seams=Seams(open_store=open_store_in_pieces))
    job = await (await client.post("/v1/logs/exports", json={"requested_data": ["id", "prompt_text"]})).json()
    assert (await client.post(f"/v1/logs/exports/{job['id']}/start")).status == 202
    assert (await _job_done(client, job["id"]))["status"] == "success"
    body = await (await client.get(f"/v1/logs/exports/{job['id']}/file")).read()
    assert len(body) > 3000  # several chunks
    records = [orjson.loads(line) for line in body.splitlines()]
    assert sorted(r["id"] for r in records) == sorted(ids)
    store = open_store_in_pieces()
    try:  # kept in pieces of the store's size (PostgreSQL keeps each piece as a row)
        assert store.read_export_chunk(job["id"], 3) == body[3000:4000]
    finally:
        store.close()


@pytest.mark.sqlite_only  # failing_writes fails SQLite's writer; tests/e2e/test_replicas.py stops a real PostgreSQL
async def test_healthz_and_metrics_say_when_writes_do_not_reach_the_store(make_proxy, failing_writes):
    client = await make_proxy()
    assert (await (await client.get("/healthz")).json())["store"] == "ok"
    assert "llmlog_store_up 1" in await (await client.get("/metrics")).text()
    await client.post("/v1/chat/completions",
                      json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
    for _ in range(100):
        health = await (await client.get("/healthz")).json()
        if health["store"] == "unavailable":
            break
        await asyncio.sleep(0.02)
    assert health == {**health, "status": "ok", "store": "unavailable"}
    assert "llmlog_store_up 0" in await (await client.get("/metrics")).text()
    failing_writes["on"] = False  # the pipeline retries on its own schedule, then says so
    for _ in range(300):
        if (await (await client.get("/healthz")).json())["store"] == "ok":
            break
        await asyncio.sleep(0.02)
    assert (await (await client.get("/healthz")).json())["store"] == "ok"
    await flushed(client)
    assert len((await (await client.get("/v1/logs")).json())["logs"]) == 1  # kept meanwhile, written now


def test_an_export_withdrawn_by_another_replica_stops_at_its_next_batch(db_path):
    """An erasure on one replica withdraws every export, also one another replica is running: that
    one stops at its next check instead of exporting to the end, and keeps no file."""
    import threading

    from llmlog.proxy.query.export_format import ExportStopped, resolve_fields
    now = int(time.time() * 1000)
    seed(db_path, [make_entry(now - i, user_id="leaver" if i == 0 else "stayer") for i in range(2500)])
    other = open_store(db_path)
    other.create_job("JOBWITHDRAWN", "jsonl", None, {}, now)
    runner = export_jobs._claimed(lambda: open_store(db_path), "JOBWITHDRAWN", "jsonl", now)
    assert runner is not None
    batches: list[int] = []

    def progress(rows: int) -> None:
        batches.append(rows)
        if len(batches) == 1:
            assert other.delete_user("leaver") == 1  # the erasure lands while the export runs

    try:
        with pytest.raises(ExportStopped, match="withdrawn"):
            export_jobs.export_file(runner, "JOBWITHDRAWN", LogFilter(), resolve_fields(None),
                                    "jsonl", threading.Event(), progress, check_every_s=0.0)
        assert batches == [1000]  # it stopped after the first batch, not after all three
        assert not export_jobs._finish(runner, "JOBWITHDRAWN", None, "withdrawn while it ran", False)
        assert other.read_export_chunk("JOBWITHDRAWN", 0) is None
    finally:
        other.close()
