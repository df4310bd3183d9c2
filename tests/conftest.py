"""Shared fixtures: a fake upstream, a proxy pointed at it, every test in its own data directory."""

from __future__ import annotations

import pytest

from proxy.app import PIPELINE, make_app
from proxy.config import load_config
from tests.fake_upstream import FakeUpstream


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


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "llmlog.db")


@pytest.fixture
def make_proxy(aiohttp_client, upstream, db_path):
    """Build a proxy client; keyword overrides are dotted config keys."""
    async def build(upstream_url: str | None = None, **overrides):
        values = {"store.path": db_path, "store.batch_interval_ms": 20}
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        config = load_config(None, env={}, overrides=values,
                             upstream=upstream_url or str(upstream.make_url("")).rstrip("/"))
        app = make_app(config)
        client = await aiohttp_client(app)
        return client
    return build


@pytest.fixture
async def proxy(make_proxy):
    return await make_proxy()


async def flushed(client) -> None:
    """Wait until every call the proxy has handled is in the database."""
    await client.app[PIPELINE].flush()
