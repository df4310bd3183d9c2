"""A proxy with an OpenAI-compatible provider at `/` and Anthropic at `/anthropic`, both fakes on
127.0.0.1, and the calls the telemetry tests make through it."""

from __future__ import annotations

import pytest

from proxy.app import make_app
from proxy.settings import load_config
from tests.conftest import CHAT, chat_body, served
from tests.fakes.fake_providers import FakeProviders

KEY = "sk-test-telemetry-secret-0123456789"
CLAUDE = "claude-sonnet-4-5-20250929"


@pytest.fixture
async def providers_server(aiohttp_server):
    return await aiohttp_server(FakeProviders().app(), host="127.0.0.1")


@pytest.fixture
def two_providers(aiohttp_client, tmp_path, db_path, upstream, providers_server):
    """Build a proxy from a TOML config; `extra` adds sections ([metrics], [otel])."""
    async def build(extra: str = ""):
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
    return build


async def chat(client, content: str = "hello world", *, headers: dict | None = None, **body) -> str:
    """One call through the proxy; its call id."""
    resp = await client.post(CHAT, data=chat_body(content, **body),
                             headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json",
                                      **(headers or {})})
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def claude(client) -> str:
    resp = await client.post("/anthropic/v1/messages", json={
        "model": CLAUDE, "max_tokens": 500, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    await resp.read()
    assert resp.status == 200
    return resp.headers["x-llmlog-id"]
