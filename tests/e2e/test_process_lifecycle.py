"""The real `llmlog serve` process: load while the database is locked, SIGTERM loses nothing,
and SIGKILL leaves a database that passes integrity_check and serves again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import orjson
import pytest

pytestmark = pytest.mark.sqlite_only  # the real server on a SQLite file, its write lock held by another process

ROOT = Path(__file__).resolve().parents[2]
CALLS = 2000
CONCURRENCY = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_serve(db: str, upstream_url: str, tmp_path, config: str = "") -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(tmp_path / f"serve-{port}.log", "wb")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    config_path = tmp_path / f"llmlog-{port}.toml"
    config_path.write_text(config)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--config", str(config_path), "--db", db,
         "--port", str(port), "--upstream", upstream_url],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        return proc, base
            except aiohttp.ClientError:
                pass
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError((tmp_path / f"serve-{port}.log").read_text())


async def drive(base: str, count: int) -> list[str]:
    """`count` calls, half of them streamed; returns the ids the proxy answered with."""
    ids: list[str] = []
    queue = list(range(count))

    async def worker(session):
        while queue:
            i = queue.pop()
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"call {i}"}],
                    "stream": i % 2 == 0}
            async with session.post(base + "/v1/chat/completions", data=orjson.dumps(body),
                                    headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
                assert resp.status == 200
                ids.append(resp.headers["x-llmlog-id"])

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        await asyncio.wait_for(asyncio.gather(*(worker(session) for _ in range(CONCURRENCY))), 120)
    return ids


def hold_write_lock(db: str, seconds: float, held: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    conn.execute("BEGIN EXCLUSIVE")
    held.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


async def test_load_with_locked_database_then_sigterm_keeps_every_entry_once(upstream, tmp_path, db_path):
    proc, base = await start_serve(db_path, str(upstream.make_url("")).rstrip("/"), tmp_path,
                                   "[store]\nbusy_timeout_ms = 300\n")
    try:
        first = await drive(base, CALLS // 4)
        held = threading.Event()
        # longer than the writer's busy timeout (300 ms here), so batches fail and go to the spill file;
        # shorter than the 5 s default, so the spill shows that the setting took effect
        locker = threading.Thread(target=hold_write_lock, args=(db_path, 2.0, held))
        locker.start()
        held.wait(5)
        during = await drive(base, CALLS // 2)
        locker.join()
        after = await drive(base, CALLS - len(first) - len(during))
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/metrics") as resp:
                metrics = await resp.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0, (tmp_path.glob("serve-*.log"))
    sent = first + during + after
    assert len(sent) == len(set(sent)) == CALLS
    conn = sqlite3.connect(db_path)
    stored = [row[0] for row in conn.execute("SELECT id FROM calls")]
    assert len(stored) == len(set(stored)) == CALLS
    assert set(stored) == set(sent)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    spilled = [line for line in metrics.splitlines() if line.startswith("llmlog_entries_spilled_total")]
    assert spilled and float(spilled[0].split()[-1]) > 0, metrics  # the lock really forced the spill path
    assert not os.path.exists(db_path + ".spill") or os.path.getsize(db_path + ".spill") == 0


async def test_sigkill_leaves_a_sound_database_that_serves_again(upstream, tmp_path, db_path):
    url = str(upstream.make_url("")).rstrip("/")
    proc, base = await start_serve(db_path, url, tmp_path)
    sent = await drive(base, 300)
    await asyncio.sleep(0.5)  # more than one batch window: these are written
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM calls").fetchone()[0] == len(sent)
    conn.close()
    proc, base = await start_serve(db_path, url, tmp_path)
    try:
        again = await drive(base, 10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM calls").fetchone()[0] == len(sent) + len(again)


async def test_a_call_outliving_the_grace_period_is_cut_and_logged_as_such(aiohttp_server, fake, tmp_path, db_path):
    fake.chunk_delay_s = 0.5  # a stream of several seconds
    slow = await aiohttp_server(fake.app(), host="127.0.0.1")
    proc, base = await start_serve(db_path, str(slow.make_url("")).rstrip("/"), tmp_path,
                                   "[server]\nshutdown_grace_s = 0.5\n")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a b c d e f g h"}], "stream": True}
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(base + "/v1/chat/completions", data=orjson.dumps(body)) as resp:
                call_id = resp.headers["x-llmlog-id"]
                await resp.content.readany()
                proc.send_signal(signal.SIGTERM)
                try:
                    complete = (await resp.read()).endswith(b"data: [DONE]\n\n")
                except aiohttp.ClientPayloadError:
                    complete = False
        assert await asyncio.to_thread(proc.wait, 15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not complete and time.monotonic() - started < 5
    with sqlite3.connect(db_path) as conn:
        status, error = conn.execute("SELECT status, error FROM calls WHERE id = ?", (call_id,)).fetchone()
    assert (status, error) == ("error", "llmlog shut down before the call finished")


async def test_a_client_hanging_up_mid_upload_is_logged_by_the_real_server(upstream, fake, tmp_path, db_path):
    """`serve` cancels a handler whose client went away (handler_cancellation): that path logs too."""
    proc, base = await start_serve(db_path, str(upstream.make_url("")).rstrip("/"), tmp_path)
    try:
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n"
                     b"Content-Type: application/json\r\n\r\n" + b'{"model": "gpt-4o-mini", "messages"')
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        logs: list = []
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                async with session.get(base + "/v1/logs") as resp:
                    logs = (await resp.json())["logs"]
                if logs:
                    break
                await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    [entry] = logs
    assert entry["status"] == "client_closed" and "request body" in entry["error"]
    assert fake.received == []
