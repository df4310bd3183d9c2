"""`llmlog serve --workers 2` as a user starts it: two processes on one port, every call stored once.

Real processes (the supervisor and its workers), the fake upstream speaking OpenAI's wire format, the
official `openai` SDK. Each SDK client holds one connection (its HTTP client's max_connections=1) and first asks
`/healthz` on it which worker it reached: the kernel gives a connection to one worker for its life, so
the test knows which worker answered each call.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import signal
import stat
import subprocess
import sys
import time

import openai
import orjson
import pytest

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import load_config
from llmlog.proxy.workers.frames import HEADER, MAX_FRAME_BYTES, framed
from llmlog.proxy.workers.role import Worker
from llmlog.store.backends import is_postgres, open_store
from llmlog.store.filters import LogFilter
from llmlog.store.spill import SpillFile, record, spill_path_for
from tests.conftest import chat_body, flushed
from tests.conftest import served as served_app
from tests.fakes.seeding import make_entry

pytestmark = pytest.mark.backends


class Served:
    """`llmlog serve --workers N --port 0`: the supervisor; its stderr kept in a file."""

    def __init__(self, db: str, upstream: str, tmp_path, workers: int = 2, batch_interval_ms: int = 20):
        config = tmp_path / "llmlog.toml"
        config.write_text(f"[store]\nbatch_interval_ms = {batch_interval_ms}\n")
        self.log_path = tmp_path / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llmlog.cli", "serve", "--workers", str(workers), "--port", "0", "--db", db,
             "--upstream", upstream, "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"), env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.base = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self) -> None:
        """Once the banner is printed (after every worker listens): its port."""
        deadline = time.monotonic() + 60
        while not (found := re.search(r"proxying on (http://127\.0\.0\.1:\d+)\s", self.log())):
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            await asyncio.sleep(0.05)
        self.base = found.group(1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


async def parsed(raw):
    """The SDK's parsed answer: `parse()` is a coroutine in openai 1.x, a plain call in later ones."""
    answer = raw.parse()
    return await answer if inspect.isawaitable(answer) else answer


class Client:
    """One connection to the proxy: the worker it reached, and the SDK over it."""

    def __init__(self, served: Served):
        self.http = openai.DefaultAsyncHttpxClient(limits=openai._httpx.Limits(max_connections=1), timeout=30)
        self.sdk = openai.AsyncOpenAI(base_url=served.base + "/v1", api_key="sk-test-secret-123456", max_retries=0,
                                      http_client=self.http)
        self.base = served.base
        self.worker = -1
        self.pid = 0
        self.calls = 0

    async def healthz(self) -> dict:
        answer = (await self.http.get(self.base + "/healthz")).json()
        self.worker, self.pid = answer["worker"], answer["pid"]
        return answer

    async def chat(self, i: int) -> str:
        """Call `i`: "call i" (prompt 11 tokens, answer 3); every fourth streamed with usage."""
        messages = [{"role": "user", "content": f"call {i}"}]
        if i % 4 == 0:
            raw = await self.sdk.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True})
            usage = None
            async for chunk in await parsed(raw):
                usage = chunk.usage or usage
        else:
            raw = await self.sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
            usage = (await parsed(raw)).usage
        assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (11, 3)
        self.calls += 1
        return raw.headers["x-llmlog-id"]

    async def metrics(self) -> str:
        return (await self.http.get(self.base + "/metrics")).text


def metric(text: str, name: str, labels: str) -> float:
    found = re.search(rf"^{re.escape(name)}{{{re.escape(labels)}}} (\S+)$", text, re.M)
    assert found, (name, labels, text)
    return float(found.group(1))


async def clients_on_each_worker(served: Served, each: int, workers: int = 2) -> dict[int, list[Client]]:
    """Connections until each worker holds at least `each` (the kernel spreads them by a hash)."""
    by_worker: dict[int, list[Client]] = {i: [] for i in range(workers)}
    for _ in range(200):
        if all(len(c) >= each for c in by_worker.values()):
            return by_worker
        client = Client(served)
        answer = await client.healthz()
        assert answer["workers"] == workers and answer["status"] == "ok", answer
        if len(by_worker[client.worker]) < each:
            by_worker[client.worker].append(client)
        else:
            await client.http.aclose()
    raise AssertionError(f"connections did not reach every worker: {by_worker}")


async def drive(clients: list[Client], calls: range) -> list[str]:
    """`calls` spread over the clients, each client's calls one after another; the ids answered."""
    todo = list(calls)
    ids: list[str] = []

    async def run(client: Client) -> None:
        while todo:
            ids.append(await client.chat(todo.pop()))

    await asyncio.gather(*(run(c) for c in clients))
    return ids


def stored(db: str) -> list[dict]:
    """Every stored call's row (any backend)."""
    store = open_store(db, create=False)
    try:
        rows, after = [], None
        while batch := store.export_batch(LogFilter(), after, limit=1000):
            rows += batch
            after = (batch[-1]["started_at"], batch[-1]["id"])
        return rows
    finally:
        store.close()


async def until_stored(db: str, ids: list[str], timeout_s: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = stored(db)
        if set(ids) <= {row["id"] for row in rows}:
            return rows
        assert time.monotonic() < deadline, f"{len(set(ids) - {row['id'] for row in rows})} calls never stored"
        await asyncio.sleep(0.1)


@pytest.fixture
async def upstream_url(upstream):
    return str(upstream.make_url("")).rstrip("/")


async def test_two_workers_share_the_port_and_store_every_call_once(db_path, upstream_url, tmp_path):
    # batches wait longer than the test runs: every entry is written by the shutdown's flush, the
    # other worker's through the lead, which must still take them
    served = Served(db_path, upstream_url, tmp_path, batch_interval_ms=60_000)
    try:
        await served.ready()
        by_worker = await clients_on_each_worker(served, 4)
        clients = [c for group in by_worker.values() for c in group]
        ids = await drive(clients, range(200))
        answered = {w: sum(c.calls for c in group) for w, group in by_worker.items()}
        assert all(answered.values()) and sum(answered.values()) == 200, answered  # both workers served
        pids = {w: group[0].pid for w, group in by_worker.items()}
        assert len(set(pids.values())) == 2  # two processes, the supervisor neither of them
        assert served.process.pid not in pids.values()
        for group in by_worker.values():
            for client in group:
                await client.http.aclose()
    finally:
        status = served.stop()  # at once: the last calls' entries are still on their way
    assert status == 0, served.log()
    rows = stored(db_path)
    assert sorted(row["id"] for row in rows) == sorted(ids) and len(set(ids)) == 200  # each once, none more
    assert {(row["input_tokens"], row["output_tokens"], row["total_tokens"], row["usage_source"]) for row in rows} \
        == {(11, 3, 14, "provider")}
    log = served.log()
    assert log.count("proxying on") == 1 and "workers    2 processes on this port" in log, log
    assert "Traceback" not in log and "restarting" not in log, log
    if not is_postgres(db_path):
        assert not os.path.exists(db_path + ".workers.sock")  # the lead removed its socket
        assert not [p for p in os.listdir(tmp_path) if ".spill" in p]  # nothing spilled, nothing left


@pytest.mark.sqlite_only
async def test_a_killed_lead_loses_no_call_another_worker_answered(db_path, upstream_url, tmp_path):
    """SIGKILL the lead while worker 1 is under load: worker 1 keeps serving, spills what the lead cannot
    take to its own spill file, and replays it once the supervisor has restarted the lead."""
    served = Served(db_path, upstream_url, tmp_path)
    try:
        await served.ready()
        by_worker = await clients_on_each_worker(served, 3)
        lead_pid = by_worker[0][0].pid
        ones = by_worker[1]
        before = await drive(ones, range(30))
        await until_stored(db_path, before)

        load = asyncio.create_task(drive(ones, range(30, 230)))
        await asyncio.sleep(0.3)
        os.kill(lead_pid, signal.SIGKILL)
        during = await load
        deadline = time.monotonic() + 30
        while f"worker 0 (pid {lead_pid}) was killed by SIGKILL; restarting it" not in served.log():
            assert time.monotonic() < deadline, served.log()
            await asyncio.sleep(0.05)
        after = await drive(ones, range(230, 260))  # worker 1 serves on while the lead restarts
        rows = await until_stored(db_path, before + during + after)
        spilled = metric(await ones[0].metrics(), "llmlog_entries_spilled_total", 'worker="1"')
        replayed = metric(await ones[0].metrics(), "llmlog_entries_replayed_total", 'worker="1"')
        assert spilled > 0 and replayed > 0  # the lead's absence went through worker 1's spill file
        fresh = Client(served)
        while (await fresh.healthz())["worker"] != 0:  # a new lead answers
            await fresh.http.aclose()
            fresh = Client(served)
        assert fresh.pid != lead_pid
        await fresh.http.aclose()
        for group in by_worker.values():
            for client in group:
                await client.http.aclose()
    finally:
        status = served.stop()
    assert status == 0, served.log()
    ids = [row["id"] for row in stored(db_path)]
    assert len(ids) == len(set(ids))  # none twice
    assert set(before + during + after) <= set(ids)
    assert len(rows) == len(ids)
    spill = db_path + ".spill.w1"
    assert not os.path.exists(spill) or os.path.getsize(spill) == 0


@pytest.mark.sqlite_only
async def test_a_stop_signalled_to_every_process_at_once_still_stores_every_call(db_path, upstream_url, tmp_path):
    """What a service manager does (systemd's KillMode=control-group): SIGTERM to the supervisor and
    each worker at the same moment, and the supervisor then passes it on. The lead keeps taking the
    other worker's batches until it has stopped, and a worker told twice does not stop mid-flush."""
    served = Served(db_path, upstream_url, tmp_path, batch_interval_ms=60_000)  # all written at the stop
    try:
        await served.ready()
        by_worker = await clients_on_each_worker(served, 3)
        ids = await drive([c for group in by_worker.values() for c in group], range(120))
        pids = [group[0].pid for group in by_worker.values()]
        for group in by_worker.values():
            for client in group:
                await client.http.aclose()
        for pid in (served.process.pid, *pids):
            os.kill(pid, signal.SIGTERM)
        status = served.process.wait(60)
    finally:
        served.stop()
    assert status == 0, served.log()
    assert sorted(row["id"] for row in stored(db_path)) == sorted(ids)
    assert not [p for p in os.listdir(tmp_path) if ".spill" in p], served.log()  # nothing left to replay


@pytest.mark.sqlite_only
async def test_a_spill_file_of_a_worker_this_start_has_none_of_is_replayed_by_the_lead(make_proxy, db_path):
    """`serve --workers 2` stopped before worker 1 replayed its spill file, then `serve` alone: the entries
    in `<spill>.w1` (and a `.replaying` one of worker 2) are written, not left on disk for ever."""
    entries = [make_entry(int(time.time() * 1000) - i) for i in range(3)]
    SpillFile(spill_path_for(db_path) + ".w1").append(entries[:2])
    SpillFile(spill_path_for(db_path) + ".w2").append(entries[2:])
    os.replace(spill_path_for(db_path) + ".w2", spill_path_for(db_path) + ".w2.replaying")
    client = await make_proxy()
    deadline = time.monotonic() + 10
    while len(stored(db_path)) < 3:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await flushed(client)
    assert sorted(row["id"] for row in stored(db_path)) == sorted(e.call["id"] for e in entries)
    assert not [p for p in os.listdir(os.path.dirname(db_path)) if ".spill.w" in p]


@pytest.mark.sqlite_only
async def test_the_leads_socket_refuses_what_is_not_a_batch_and_serves_on(aiohttp_client, upstream_url, db_path,
                                                                         caplog):
    """Frames on the lead's socket are untrusted: a frame of no records is refused, an unreadable
    record is refused alone, a frame longer than the bound is not read; the lead serves on."""
    config = load_config(None, env={}, upstream=upstream_url,
                         overrides={"store.path": db_path, "store.batch_interval_ms": 20, "server.workers": 2})
    client = await served_app(aiohttp_client, make_app(config, worker=Worker(0, 2)))
    path = db_path + ".workers.sock"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    reader, writer = await asyncio.open_unix_connection(path)

    async def exchange(payload: bytes) -> dict:
        writer.write(framed(payload))
        size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
        return orjson.loads(await reader.readexactly(size))

    assert (await exchange(b"not records"))["error"].startswith("malformed frame")
    good = make_entry(int(time.time() * 1000), prompt="handed in")
    torn = bytearray(record(make_entry(int(time.time() * 1000)), None))
    torn[-5] ^= 1  # a flipped bit: its checksum fails
    assert await exchange(record(good, None) + bytes(torn)) == {"written": 1, "refused": [[1, "unreadable record"]]}
    assert await exchange(record(good, None)) == {"written": 0, "refused": []}  # stored once, never twice
    writer.write(HEADER.pack(MAX_FRAME_BYTES + 1))
    assert await asyncio.wait_for(reader.read(), 10) == b""  # not read: the connection is closed
    writer.close()
    log = caplog.text
    assert "refused a malformed frame" in log and f"refused a frame of {MAX_FRAME_BYTES + 1} bytes" in log

    assert (await client.post("/v1/chat/completions", data=chat_body("after"))).status == 200
    await flushed(client)
    store = open_store(db_path, create=False)
    try:
        prompts = [store.get_log(row["id"]) for row in stored(db_path)]
    finally:
        store.close()
    assert sorted(content["prompt_text"] for _, content in filter(None, prompts) if content) == ["after", "handed in"]
    assert (await (await client.get("/healthz")).json())["worker"] == 0
