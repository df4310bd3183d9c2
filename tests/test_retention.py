"""Retention (DESIGN §7): whole calls or only content pruned, space handed back, in the background too."""

from __future__ import annotations

import asyncio
import os
import time

from store.sqlite.db import connect
from store.sqlite.retention import prune
from tests.seeding import make_entry, seed

DAY = 86_400_000


def _seed_ages(db_path: str, now: int) -> dict[str, list[str]]:
    big = "lorem ipsum " * 2000  # ~24 KB per prompt, so freed pages are visible in the file size
    old = [make_entry(now - 40 * DAY + i, prompt=f"oldmarker{i} {big}", output="oldout", tags=("x",))
           for i in range(40)]
    middle = [make_entry(now - 10 * DAY + i, prompt=f"midmarker{i} {big}") for i in range(20)]
    fresh = [make_entry(now - DAY + i, prompt=f"newmarker{i}") for i in range(5)]
    return {"old": seed(db_path, old), "middle": seed(db_path, middle), "fresh": seed(db_path, fresh)}


def _counts(conn) -> tuple[int, int, int, int]:
    return tuple(conn.execute(sql).fetchone()[0] for sql in (
        "SELECT count(*) FROM calls", "SELECT count(*) FROM call_content",
        "SELECT count(*) FROM call_search", "SELECT count(*) FROM call_tags"))


def test_prune_whole_calls_and_reclaim_space(db_path):
    now = int(time.time() * 1000)
    ids = _seed_ages(db_path, now)
    conn = connect(db_path)
    pages_before = conn.execute("PRAGMA page_count").fetchone()[0]
    assert _counts(conn) == (65, 65, 65, 40)
    result = prune(conn, now - 30 * DAY)
    assert result.calls_deleted == 40 and result.contents_dropped == 0
    assert _counts(conn) == (25, 25, 25, 0)
    left = {row[0] for row in conn.execute("SELECT id FROM calls")}
    assert left == set(ids["middle"] + ids["fresh"])
    assert conn.execute("SELECT count(*) FROM call_search WHERE call_search MATCH 'oldmarker1'").fetchone()[0] == 0
    pages_after = conn.execute("PRAGMA page_count").fetchone()[0]
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert pages_after < pages_before * 0.5  # 40 of 60 large prompts gone; the file shrank
    assert os.path.getsize(db_path + "-wal") == 0  # checkpointed and truncated: no old copies linger
    conn.close()


def test_prune_content_only_keeps_metrics(db_path):
    now = int(time.time() * 1000)
    ids = _seed_ages(db_path, now)
    conn = connect(db_path)
    cost_before = conn.execute("SELECT sum(cost_micros) FROM calls").fetchone()[0]
    result = prune(conn, now - 7 * DAY, content_only=True)
    assert result.contents_dropped == 60 and result.calls_deleted == 0
    assert _counts(conn) == (65, 5, 5, 40)
    assert conn.execute("SELECT sum(cost_micros) FROM calls").fetchone()[0] == cost_before
    without = {row[0] for row in conn.execute("SELECT id FROM calls WHERE has_content = 0")}
    assert without == set(ids["old"] + ids["middle"])
    assert prune(conn, now - 7 * DAY, content_only=True).contents_dropped == 0  # idempotent
    conn.close()


async def test_background_retention_runs_on_start(make_proxy, db_path):
    now = int(time.time() * 1000)
    ids = _seed_ages(db_path, now)
    client = await make_proxy(store__retention_days=30, store__content_retention_days=7)
    for _ in range(100):
        body = await (await client.get("/v1/logs", params={"start_date": "-100d", "limit": "100"})).json()
        if body["total"] == 25 and not any(e["has_content"] for e in body["logs"] if e["id"] in ids["middle"]):
            break
        await asyncio.sleep(0.05)
    assert {e["id"] for e in body["logs"]} == set(ids["middle"] + ids["fresh"])
    by_id = {e["id"]: e for e in body["logs"]}
    assert all(not by_id[i]["has_content"] for i in ids["middle"])
    assert all(by_id[i]["has_content"] for i in ids["fresh"])
    entry = await (await client.get(f"/v1/logs/{ids['middle'][0]}")).json()
    assert entry["cost_usd"] == 0.0001 and "request" not in entry


def test_prune_removes_export_files_written_before_the_cutoff(db_path, tmp_path):
    """An export file is a copy of the calls as they were when it was written: it goes when calls of
    that age go (through the CLI here; the server's retention pass runs the same store code)."""
    from click.testing import CliRunner

    from cli import main
    from store.sqlite import export_jobs

    now = int(time.time() * 1000)
    _seed_ages(db_path, now)
    conn = connect(db_path)
    paths = {}
    for job_id, written_at in (("OLDJOB", now - 40 * DAY), ("NEWJOB", now - DAY)):
        paths[job_id] = str(tmp_path / f"{job_id}.jsonl")
        with open(paths[job_id], "w") as f:
            f.write('{"id": "x"}\n')
        export_jobs.create_job(conn, job_id, "jsonl", None, {}, written_at)
        export_jobs.start_job(conn, job_id, paths[job_id], written_at)
        assert export_jobs.finish_job(conn, job_id, 1, None, written_at)
    conn.close()
    result = CliRunner().invoke(main, ["prune", "--db", db_path, "--older-than", "30d", "--content-only"])
    assert result.exit_code == 0, result.output
    assert "removed 1 export file(s)" in result.output
    assert not os.path.exists(paths["OLDJOB"]) and os.path.exists(paths["NEWJOB"])
    conn = connect(db_path)
    old, new = export_jobs.get_job(conn, "OLDJOB"), export_jobs.get_job(conn, "NEWJOB")
    conn.close()
    assert old["status"] == "failure" and "retention" in old["error"]
    assert new["status"] == "success"


def test_prune_removes_a_recent_export_that_holds_older_calls(db_path, tmp_path):
    """What counts is the oldest call a file can hold, not when it was written; content-only
    retention leaves files that quote no content."""
    from store.sqlite import export_jobs

    now = int(time.time() * 1000)
    _seed_ages(db_path, now)
    conn = connect(db_path)
    paths = {}
    for job_id, holds_content in (("METRICSONLY", False), ("WITHPROMPTS", True)):
        paths[job_id] = str(tmp_path / f"{job_id}.jsonl")
        open(paths[job_id], "w").close()
        export_jobs.create_job(conn, job_id, "jsonl", None, {}, now - DAY)
        export_jobs.start_job(conn, job_id, paths[job_id], now - DAY)
        assert export_jobs.finish_job(conn, job_id, 65, None, now - DAY, oldest_started_at=now - 40 * DAY,
                                      holds_content=holds_content)
    assert prune(conn, now - 30 * DAY, content_only=True).export_files_removed == 1
    assert os.path.exists(paths["METRICSONLY"]) and not os.path.exists(paths["WITHPROMPTS"])
    assert prune(conn, now - 30 * DAY).export_files_removed == 1
    assert not os.path.exists(paths["METRICSONLY"])
    assert export_jobs.get_job(conn, "METRICSONLY")["status"] == "failure"
    conn.close()
