"""Retention (DESIGN §7): whole calls or only content pruned, space handed back, in the background too."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from contextlib import closing

import pytest

from llmlog.store.backends import open_store
from llmlog.store.filters import LogFilter
from tests.conftest import stored_ids
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

DAY = 86_400_000


def _seed_ages(db_path: str, now: int) -> dict[str, list[str]]:
    big = "lorem ipsum " * 2000  # ~24 KB per prompt, so freed pages are visible in the file size
    old = [make_entry(now - 40 * DAY + i, prompt=f"oldmarker{i} {big}", output="oldout", tags=("x",))
           for i in range(40)]
    middle = [make_entry(now - 10 * DAY + i, prompt=f"midmarker{i} {big}") for i in range(20)]
    fresh = [make_entry(now - DAY + i, prompt=f"newmarker{i}") for i in range(5)]
    return {"old": seed(db_path, old), "middle": seed(db_path, middle), "fresh": seed(db_path, fresh)}


def _ids_with_content(store, ids: list[str]) -> set[str]:
    return {i for i in ids if store.get_log(i)[1] is not None}


def _found_by_search(store, words: str) -> int:
    return store.count(LogFilter(text=words))


def test_prune_whole_calls_and_reclaim_space(db_path, backend):
    now = int(time.time() * 1000)
    ids = _seed_ages(db_path, now)
    every = ids["old"] + ids["middle"] + ids["fresh"]
    store = open_store(db_path)
    try:
        assert store.count(LogFilter()) == 65 and _ids_with_content(store, every) == set(every)
        assert store.count(LogFilter(tags=["x"])) == 40 and _found_by_search(store, "oldmarker1") == 1
        pages_before = _sqlite_pages(db_path) if backend == "sqlite" else None
        result = store.prune(now - 30 * DAY)
        assert result.calls_deleted == 40 and result.contents_dropped == 0
        assert set(stored_ids(db_path)) == set(ids["middle"] + ids["fresh"])
        assert all(store.get_log(i) is None for i in ids["old"])  # the call and its content
        assert _ids_with_content(store, ids["middle"] + ids["fresh"]) == set(ids["middle"] + ids["fresh"])
        assert store.count(LogFilter(tags=["x"])) == 0
        assert _found_by_search(store, "oldmarker1") == 0 and _found_by_search(store, "midmarker1") == 1
        if backend == "sqlite":  # space handed back: SQLite's file shrinks (checked while the store is open)
            with closing(sqlite3.connect(db_path)) as conn:
                assert conn.execute("SELECT count(*) FROM call_content").fetchone()[0] == 25
                assert conn.execute("SELECT count(*) FROM call_search").fetchone()[0] == 25
                assert conn.execute("SELECT count(*) FROM call_tags").fetchone()[0] == 0
                assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
            assert _sqlite_pages(db_path) < pages_before * 0.5  # 40 of 60 large prompts gone; the file shrank
            assert os.path.getsize(db_path + "-wal") == 0  # checkpointed and truncated: no old copies linger
    finally:
        store.close()


def _sqlite_pages(db_path: str) -> int:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute("PRAGMA page_count").fetchone()[0]


def _total_cost(store) -> int:
    return sum(row["cost_micros"] for row in store.export_batch(LogFilter(), limit=1000))


def test_prune_content_only_keeps_metrics(db_path):
    now = int(time.time() * 1000)
    ids = _seed_ages(db_path, now)
    every = ids["old"] + ids["middle"] + ids["fresh"]
    store = open_store(db_path)
    try:
        cost_before = _total_cost(store)
        result = store.prune(now - 7 * DAY, content_only=True)
        assert result.contents_dropped == 60 and result.calls_deleted == 0
        assert store.count(LogFilter()) == 65 and _total_cost(store) == cost_before
        assert _ids_with_content(store, every) == set(ids["fresh"])
        assert store.count(LogFilter(tags=["x"])) == 40  # tags are metrics, not content
        for name in ("oldmarker", "midmarker"):  # the search index forgets the dropped text
            assert all(_found_by_search(store, f"{name}{i}") == 0 for i in range(20)), name
        assert all(_found_by_search(store, f"newmarker{i}") == 1 for i in range(5))
        without = {row["id"] for row in store.export_batch(LogFilter(), limit=1000) if not row["has_content"]}
        assert without == set(ids["old"] + ids["middle"])
        assert store.prune(now - 7 * DAY, content_only=True).contents_dropped == 0  # idempotent
    finally:
        store.close()


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


def _finished_export(store, job_id: str, written_at: int, content: bytes, **finish) -> str:
    """A finished export job whose file every process sharing the store can read, made as the
    export runner makes one (through the Store interface)."""
    store.create_job(job_id, "jsonl", None, {}, written_at)
    path = store.export_path(job_id, "jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)
    assert store.start_job(job_id, path, written_at)
    assert store.finish_job(job_id, finish.pop("rows", 1), None, written_at, written=path, **finish)
    return path


def test_prune_removes_export_files_written_before_the_cutoff(db_path, backend):
    """An export file is a copy of the calls as they were when it was written: it goes when calls of
    that age go (through the CLI here; the server's retention pass runs the same store code)."""
    from click.testing import CliRunner

    from llmlog.cli import main

    now = int(time.time() * 1000)
    _seed_ages(db_path, now)
    store = open_store(db_path)
    paths = {job_id: _finished_export(store, job_id, written_at, b'{"id": "x"}\n')
             for job_id, written_at in (("OLDJOB", now - 40 * DAY), ("NEWJOB", now - DAY))}
    store.close()
    result = CliRunner().invoke(main, ["prune", "--db", db_path, "--older-than", "30d", "--content-only"])
    assert result.exit_code == 0, result.output
    assert "removed 1 export file(s)" in result.output
    store = open_store(db_path)
    try:
        assert store.read_export_chunk("OLDJOB", 0) is None
        assert store.read_export_chunk("NEWJOB", 0) == b'{"id": "x"}\n'
        old, new = store.get_job("OLDJOB"), store.get_job("NEWJOB")
    finally:
        store.close()
    if backend == "sqlite":
        assert not os.path.exists(paths["OLDJOB"]) and os.path.exists(paths["NEWJOB"])
    assert old["status"] == "failure" and "retention" in old["error"]
    assert new["status"] == "success"


def test_prune_removes_a_recent_export_that_holds_older_calls(db_path, backend):
    """What counts is the oldest call a file can hold, not when it was written; content-only
    retention leaves files that quote no content."""
    now = int(time.time() * 1000)
    _seed_ages(db_path, now)
    store = open_store(db_path)
    try:
        paths = {job_id: _finished_export(store, job_id, now - DAY, b"", rows=65, oldest_started_at=now - 40 * DAY,
                                          holds_content=holds_content)
                 for job_id, holds_content in (("METRICSONLY", False), ("WITHPROMPTS", True))}
        assert store.prune(now - 30 * DAY, content_only=True).export_files_removed == 1
        assert store.read_export_chunk("METRICSONLY", 0) == b"" and store.read_export_chunk("WITHPROMPTS", 0) is None
        if backend == "sqlite":
            assert os.path.exists(paths["METRICSONLY"]) and not os.path.exists(paths["WITHPROMPTS"])
        assert store.prune(now - 30 * DAY).export_files_removed == 1
        assert store.read_export_chunk("METRICSONLY", 0) is None
        if backend == "sqlite":
            assert not os.path.exists(paths["METRICSONLY"])
        assert store.get_job("METRICSONLY")["status"] == "failure"
    finally:
        store.close()
