"""Shared fixtures: a fake upstream, a proxy pointed at it, every test in its own data directory.

Store backends: a test module marked `pytestmark = pytest.mark.backends` (the store, logs-API and
CLI tests) runs each test that uses `db_path` (directly, or through `make_proxy`/`proxy`) once on
SQLite and once on PostgreSQL, `db_path` then being a fresh database's URL; `@pytest.mark.sqlite_only`
keeps one test of such a module (or a whole module) to SQLite, for what only SQLite has (the file,
its WAL, its schema, the spill file beside it). Every other test runs on SQLite alone.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import sqlite3
import threading
from contextlib import closing
from dataclasses import replace

import orjson
import pytest
from aiohttp.test_utils import TestServer

from llmlog.proxy.app import SERVER_OPTIONS, Seams, make_app
from llmlog.proxy.settings import load_config
from llmlog.proxy.state import PIPELINE
from llmlog.store.backends import is_postgres, open_store
from llmlog.store.filters import LogFilter
from tests.fakes.fake_providers import FakeProviders
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.faulty_store import Faults, opener
from tests.fakes.postgres_server import postgres_server, postgres_url  # noqa: F401 (fixtures)

BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker
    if marked("backends") and not marked("sqlite_only"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def isolated_data(tmp_path, monkeypatch):
    """No test reads or writes the user's real database or config."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for name in ("LLMLOG_DB", "LLMLOG_CONFIG", "LLMLOG_UPSTREAM", "LLMLOG_ADMIN_KEY", "LLMLOG_HOST",
                 "LLMLOG_PORT", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def fake():
    return FakeUpstream()


@pytest.fixture
async def upstream(aiohttp_server, fake):
    return await aiohttp_server(fake.app(), host="127.0.0.1")


@pytest.fixture(params=["llmlog", "aiohttp"])
def each_client(request) -> str:
    """A test that takes it runs once through each upstream client (`upstream.client`), except a test
    (or a parameter) marked `llmlog_client_only(reason)`: a case where aiohttp is laxer by design
    (proxy/upstream/aiohttp_client.py says where) exists for llmlog's own client alone; its aiohttp
    run is removed at collection (`pytest_collection_modifyitems`), not skipped: in CI a skipped test
    is one that did not run."""
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    aiohttp_only_lax = [item for item in items if item.get_closest_marker("llmlog_client_only")
                        and getattr(item, "callspec", None) is not None
                        and item.callspec.params.get("each_client") == "aiohttp"]
    if aiohttp_only_lax:
        config.hook.pytest_deselected(items=aiohttp_only_lax)
        items[:] = [item for item in items if item not in aiohttp_only_lax]


@pytest.fixture
def backend(request):
    """Which store backend this test runs on: "sqlite" unless parametrised (see the module doc)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_path(backend, tmp_path, request):
    """Where this test's store lives: a SQLite file in its directory, or a fresh PostgreSQL
    database's URL (the same string `--db`, `store.path` and `LLMLOG_DB` take)."""
    if backend == "sqlite":
        return str(tmp_path / "llmlog.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store_faults():
    """Faults the stores of this test's proxies show (tests/fakes/faulty_store.py), switched while
    they run. A test that asks for it (or for a fixture built on it) gets proxies whose stores obey it."""
    return Faults()


@pytest.fixture
def make_proxy(aiohttp_client, upstream, db_path, request):
    """Build a proxy client; keyword overrides are dotted config keys; `seams` are the app's (proxy/app.py)."""
    faults = request.getfixturevalue("store_faults") if "store_faults" in request.fixturenames else None

    async def build(upstream_url: str | None = None, *, seams: Seams | None = None, **overrides):
        values = {"store.path": db_path, "store.batch_interval_ms": 20}
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        config = load_config(None, env={}, overrides=values,
                             upstream=upstream_url or str(upstream.make_url("")).rstrip("/"))
        seams = seams or Seams()
        if faults is not None and seams.open_store is None:
            seams = replace(seams, open_store=opener(db_path, faults))
        return await served(aiohttp_client, make_app(config, seams=seams))
    return build


@pytest.fixture
async def providers_server(aiohttp_server):
    """Fake Anthropic Messages and OpenAI Responses upstreams (tests/fakes/fake_providers.py)."""
    return await aiohttp_server(FakeProviders().app(), host="127.0.0.1")


@pytest.fixture
def two_providers(aiohttp_client, tmp_path, db_path, upstream, providers_server):
    """Build a proxy from a TOML config with the fake OpenAI upstream at `/` and the fake Anthropic at
    `/anthropic`; `extra` adds TOML sections."""
    async def make(extra: str = ""):
        config_file = tmp_path / "llmlog.toml"
        config_file.write_text(f"""
[store]
path = "{db_path}"
batch_interval_ms = 20
{extra}
[[providers]]
name = "openai"
base_url = "{str(upstream.make_url('')).rstrip('/')}"
prefix = "/"

[[providers]]
name = "anthropic"
base_url = "{str(providers_server.make_url('')).rstrip('/')}"
prefix = "/anthropic"
format = "anthropic"
""")
        return await served(aiohttp_client, make_app(load_config(config_file, env={})))
    return make


async def served(aiohttp_client, app):
    """A test client for `app`, its server run as `llmlog serve` runs it (aiohttp's TestServer
    takes server options only in `start_server`, and always cancels handlers itself)."""
    server = TestServer(app)
    await server.start_server(**{k: v for k, v in SERVER_OPTIONS.items() if k != "handler_cancellation"})
    return await aiohttp_client(server)


@pytest.fixture
async def proxy(make_proxy):
    return await make_proxy()


async def flushed(client) -> None:
    """Wait until every call the proxy has handled is in the database."""
    await client.app[PIPELINE].flush()


# -- helpers shared by many test files -----------------------------------------------------------

CHAT = "/v1/chat/completions"


def chat_body(content: str = "hi", **extra) -> bytes:
    """An OpenAI chat request for the fake upstream (which echoes the words back)."""
    return orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra})


def database_bytes(db_path: str) -> bytes:
    """Every byte of the database and its companions (WAL, spill files): what a grep of the disk sees."""
    return b"".join(open(p, "rb").read() for p in sorted(glob.glob(db_path + "*")))


def stored_ids(db_path: str) -> list[str]:
    """Every stored call's id, oldest first, read through the store's interface (any backend);
    [] while the store does not exist yet."""
    if not is_postgres(db_path) and not os.path.exists(db_path):
        return []
    store = open_store(db_path, create=False)
    try:
        ids, after = [], None
        while batch := store.export_batch(LogFilter(), after, limit=1000):
            ids += [row["id"] for row in batch]
            after = (batch[-1]["started_at"], batch[-1]["id"])
        return ids
    finally:
        store.close()


def age_call(db_path: str, call_id: str, by_ms: int) -> None:
    """Move a stored call `by_ms` into the past. The Store interface has no way to rewrite when a
    call started (nothing but a test needs one), so this is the one place tests write SQL to either
    backend's `calls` table."""
    if is_postgres(db_path):
        from llmlog.store.postgres import partitions
        from llmlog.store.postgres.connect import connect
        with closing(connect(db_path)) as conn:  # calls are partitioned by week: the target week's first
            (started_at,) = conn.execute("SELECT started_at FROM calls WHERE id = %s", (call_id,)).fetchone()
            conn.commit()
            partitions.ensure_weeks(conn, [started_at - by_ms])
            with conn.transaction():  # its content and tags are partitioned by its start too: they move with it
                conn.execute("UPDATE calls SET started_at = started_at - %s WHERE id = %s", (by_ms, call_id))
                for table in ("call_content", "call_tags"):
                    conn.execute(f"UPDATE {table} SET started_at = started_at - %s WHERE call_id = %s",
                                 (by_ms, call_id))
        return
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE calls SET started_at = started_at - ? WHERE id = ?", (by_ms, call_id))


def missing_store(db_path: str) -> str:
    """A location of the same backend as `db_path` where no store exists: beside the SQLite file, or
    on the same PostgreSQL server a database that holds no llmlog schema (template1, which every
    server has and a fresh test database is copied from)."""
    if is_postgres(db_path):
        from tests.fakes.postgres_server import with_database
        return with_database(db_path, "template1")
    return db_path + ".missing"


def no_store_message(db_path: str) -> str:
    """How each backend says there is no llmlog store at a location (the SQLite file is missing; the
    PostgreSQL database has no llmlog schema)."""
    return "no llmlog database in" if is_postgres(db_path) else "no llmlog database at"


def export_file_bytes(db_path: str, job_id: str) -> bytes | None:
    """A finished export job's file as every process sharing the store reads it (through the Store
    interface); None when it is gone."""
    store = open_store(db_path, create=False)
    try:
        chunks, index = [], 0
        while (chunk := store.read_export_chunk(job_id, index)) is not None:
            chunks.append(chunk)
            if len(chunk) < store.export_chunk_bytes:
                return b"".join(chunks)
            index += 1
        return None if index == 0 else b"".join(chunks)
    finally:
        store.close()


def metric(text: str, name: str) -> float:
    """One unlabelled value from /metrics text."""
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


async def wait_until(predicate, timeout_s: float = 10.0, *, fail: bool = True) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    assert not fail, "condition not reached in time"


@pytest.fixture
def stalled_writes(store_faults):
    """The pipeline's batch writes wait until the returned gate is set (at the latest at teardown)."""
    gate = threading.Event()

    def stalled_write(real_write, conn, entries):
        gate.wait(10)
        return real_write(conn, entries)

    store_faults.write_batch = stalled_write
    yield gate
    gate.set()


@pytest.fixture
def failing_writes(store_faults):
    """The pipeline's batch writes fail as a broken disk would while `switch["on"]` is true."""
    switch = {"on": True}

    def flaky_write(real_write, conn, entries):
        if switch["on"]:
            raise sqlite3.OperationalError("disk I/O error")
        return real_write(conn, entries)

    store_faults.write_batch = flaky_write
    return switch


async def replay_spill_now(client) -> None:
    """Replay the spill file at once instead of waiting for the pipeline's retry delay."""
    pipeline = client.app[PIPELINE]
    pipeline._retry_at = 0.0
    await pipeline._replay_spill()
