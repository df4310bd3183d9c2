"""The calls the telemetry tests make through a proxy with the fake OpenAI upstream at `/` and the
fake Anthropic at `/anthropic` (`two_providers`, tests/conftest.py)."""

from __future__ import annotations

from tests.conftest import CHAT, chat_body

KEY = "sk-test-telemetry-secret-0123456789"
CLAUDE = "claude-sonnet-4-5-20250929"


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
