"""Several `llmlog serve` processes on one PostgreSQL (issue 16): any replica answers for every
call, background work runs once, and PostgreSQL going away under load loses nothing.

Real processes (`llmlog serve` as a user starts it), a real PostgreSQL, a fake upstream speaking
OpenAI's wire format on 127.0.0.1; every load is bounded in count and time."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from contextlib import asynccontextmanager

import aiohttp
import orjson
import pytest

from llmlog.store.backends import open_store
from llmlog.store.filters import LogFilter
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.postgres_server import Cluster, Unavailable, find_bin_dir, free_port, run_sql, unavailable
from tests.fakes.seeding import make_entry

DAY = 86_400_000
CHAT = "/v1/chat/completions"


class Replica:
    """One `llmlog serve` process; its stderr is kept in a file for the test to read."""

    def __init__(self, name: str, db: str, upstream: str, tmp, *config_lines: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        home = tmp / name
        home.mkdir()
        config = home / "llmlog.toml"
        config.write_text("\n".join(["[store]", "batch_interval_ms = 20", *config_lines]) + "\n")
        self.log_path = home / "stderr.log"
        env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "PYTHONUNBUFFERED": "1"}
        env.pop("LLMLOG_DB", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from llmlog.cli import main; main()", "serve", "--db", db, "--port", str(self.port),
             "--upstream", upstream, "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"), env=env)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"replica exited: {self.log()[-2000:]}")
            try:
                async with session.get(self.base + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"replica not ready: {self.log()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@asynccontextmanager
async def replicas(db: str, upstream: str, tmp, *config_lines: str, count: int = 2):
    started = [Replica(chr(ord("a") + i), db, upstream, tmp, *config_lines) for i in range(count)]
    try:
        async with aiohttp.ClientSession() as session:
            for replica in started:
                await replica.ready(session)
            yield session, started
    finally:
        for replica in started:
            replica.stop()


async def _chat(session, replica: Replica, text: str, stream: bool = False) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "stream": stream}
    async with session.post(replica.base + CHAT, data=orjson.dumps(body),
                            headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()


async def _get(session, replica: Replica, path: str):
    async with session.get(replica.base + path) as resp:
        assert resp.status == 200, (path, await resp.text())
        return await resp.read()


async def _total(session, replica: Replica) -> int:
    return orjson.loads(await _get(session, replica, "/v1/logs?limit=1"))["total"]


async def _until_total(session, replica: Replica, want: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while (got := await _total(session, replica)) != want:
        assert time.monotonic() < deadline, f"{replica.base} lists {got} calls, want {want}\n{replica.log()[-3000:]}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def upstream_url(aiohttp_server):
    server = await aiohttp_server(FakeUpstream().app(), host="127.0.0.1")
    return str(server.make_url("")).rstrip("/")


async def test_two_replicas_answer_alike_and_run_background_work_once(postgres_url, upstream_url, tmp_path):
    now = int(time.time() * 1000)
    store = open_store(postgres_url)
    store.write_or_split([make_entry(now - 40 * DAY + i, prompt=f"old {i}") for i in range(5)])
    store.close()
    async with replicas(postgres_url, upstream_url, tmp_path, "retention_days = 30") as (session, (a, b)):
        for i in range(12):
            await _chat(session, (a, b)[i % 2], f"call number {i}", stream=i % 3 == 0)
        await _until_total(session, a, 12)
        await _until_total(session, b, 12)
        # retention ran once at start: the old calls are gone, and one replica says it removed them
        deleted = [r for r in (a, b) if "retention: deleted 5 calls" in r.log()]
        assert len(deleted) == 1, [r.log()[-1500:] for r in (a, b)]
        window = "start_date=2026-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z"  # fixed: not "now" on each
        for path in ("/v1/logs?limit=100", "/v1/logs?limit=100&q=number", "/v1/logs/export?format=csv",
                     f"/v1/logs/stats?group_by=model&{window}", f"/v1/logs/summary?{window}"):
            assert await _get(session, a, path) == await _get(session, b, path), path
        assert orjson.loads(await _get(session, a, f"/v1/logs/summary?{window}"))["summary"]["total_calls"] == 12
        one = orjson.loads(await _get(session, a, "/v1/logs?limit=1"))["logs"][0]["id"]
        assert await _get(session, a, f"/v1/logs/{one}") == await _get(session, b, f"/v1/logs/{one}")

        # an export job made on A, started on A, refused a second start on B, downloaded from B
        async with session.post(a.base + "/v1/logs/exports", json={"requested_data": ["id", "prompt_text"]}) as r:
            job = await r.json()
        async with session.post(f"{a.base}/v1/logs/exports/{job['id']}/start") as r:
            assert r.status == 202
        async with session.post(f"{b.base}/v1/logs/exports/{job['id']}/start") as second:
            second_start = second.status
        deadline = time.monotonic() + 30
        while (done := orjson.loads(await _get(session, b, f"/v1/logs/exports/{job['id']}")))["status"] == "running":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert done["status"] == "success", done
        from_b = await _get(session, b, f"/v1/logs/exports/{job['id']}/file")
        assert from_b == await _get(session, a, f"/v1/logs/exports/{job['id']}/file")
        assert len(from_b.splitlines()) == 12
        # B's start found it running (409), or, when A had already finished it, ran it again
        assert second_start in (409, 202)


@pytest.fixture
def own_cluster():
    """A cluster this test may crash and restart, with a database for llmlog: (cluster, URL).
    Durable: a commit acknowledged is in the WAL, as on any real server, so a crash must cost
    nothing llmlog was told was written."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        unavailable("initdb/pg_ctl not found: this test stops and starts a cluster of its own")
    cluster = Cluster(bin_dir, "postgres" if os.geteuid() == 0 else None, durable=True)
    try:
        try:
            url = cluster.start()
        except Unavailable as exc:
            unavailable(str(exc))
        run_sql(url, "CREATE DATABASE llmlog_fault")
        yield cluster, url.rsplit("/", 1)[0] + "/llmlog_fault"
    finally:
        cluster.stop()


async def _health(session, replica: Replica) -> str:
    return orjson.loads(await _get(session, replica, "/healthz"))["store"]


async def test_a_replica_started_while_postgres_is_down_serves_and_catches_up(own_cluster, upstream_url, tmp_path):
    cluster, db = own_cluster
    store = open_store(db)  # the schema exists; then the server goes away
    store.close()
    cluster.pause()
    async with replicas(db, upstream_url, tmp_path, count=1) as (session, (replica,)):
        for i in range(40):
            await _chat(session, replica, f"while the database is down {i}", stream=i % 2 == 0)
        deadline = time.monotonic() + 10
        while await _health(session, replica) != "unavailable":
            assert time.monotonic() < deadline, replica.log()[-2000:]
            await asyncio.sleep(0.1)
        assert "llmlog_store_up 0" in (await _get(session, replica, "/metrics")).decode()
        for path in ("/v1/logs", "/v1/logs/export"):  # the logs API says why, in its shape, before any byte
            async with session.get(replica.base + path) as resp:
                assert resp.status == 503 and (await resp.json())["error"]["type"] == "unavailable", path
        cluster.resume()
        await _until_total(session, replica, 40, timeout_s=30)
        deadline = time.monotonic() + 10
        while await _health(session, replica) != "ok":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)


async def test_after_a_postgres_restart_the_first_requests_succeed(own_cluster, upstream_url, tmp_path):
    """A restart ends every session; the replica's idle connections learn it only when used."""
    cluster, db = own_cluster
    async with replicas(db, upstream_url, tmp_path, count=1) as (session, (replica,)):
        await _chat(session, replica, "before the restart")
        await _until_total(session, replica, 1)
        cluster.pause()
        cluster.resume()
        assert await _total(session, replica) == 1  # the reader's first query after the restart
        one = orjson.loads(await _get(session, replica, "/v1/logs"))["logs"][0]["id"]
        async with session.delete(f"{replica.base}/v1/logs/user/nobody") as resp:  # the writer's first
            assert resp.status == 200, await resp.text()
        await _chat(session, replica, "after the restart")
        await _until_total(session, replica, 2)
        assert orjson.loads(await _get(session, replica, f"/v1/logs/{one}"))["id"] == one


async def test_postgres_stopped_under_load_loses_nothing_and_duplicates_nothing(own_cluster, upstream_url, tmp_path):
    cluster, db = own_cluster
    async with replicas(db, upstream_url, tmp_path) as (session, pair):
        sent = 0
        stop_at = time.monotonic() + 7

        async def caller(k: int) -> None:
            nonlocal sent
            i = 0
            while time.monotonic() < stop_at and sent < 3000:
                await _chat(session, pair[(k + i) % 2], f"caller {k} call {i}", stream=i % 4 == 0)
                sent += 1
                i += 1

        async def outage() -> None:
            await asyncio.sleep(1.5)
            cluster.pause()
            await asyncio.sleep(4)
            cluster.resume()

        await asyncio.gather(*(caller(k) for k in range(4)), outage())
        assert sent > 50
        for replica in pair:  # each kept its entries while the store was away, then wrote them
            await _until_total(session, replica, sent, timeout_s=60)
        health = [orjson.loads(await _get(session, r, "/healthz"))["store"] for r in pair]
        assert health == ["ok", "ok"]
        spilled = [r.log().count("spilling to") for r in pair]
        assert sum(spilled) > 0, "the outage was not seen: the test proved nothing"
    store = open_store(db)
    try:
        ids = [row["id"] for row in store.export_batch(LogFilter(), limit=100_000)]
    finally:
        store.close()
    assert len(ids) == len(set(ids)) == sent
