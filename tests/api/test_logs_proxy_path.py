"""`proxy_path` of the whole entry (issue 19's replay): the path a client sends to llmlog to reach the
call's provider again, its configured prefix kept; null once that provider is no longer configured.
And the replay the page makes with it: a same-origin POST through the proxy route, its key never stored."""

from __future__ import annotations

import orjson
import pytest

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import load_config
from tests.conftest import database_bytes, flushed, served
from tests.e2e.test_accounting import providers_server  # noqa: F401 (the fake Anthropic's fixture)

pytestmark = pytest.mark.backends

CLAUDE = "claude-sonnet-4-5-20250929"
ANTHROPIC_KEY = "sk-ant-replay-only-4f9c2e7a1b"


@pytest.fixture
def providers_proxy(aiohttp_client, tmp_path, db_path, upstream, providers_server):  # noqa: F811
    """A proxy from a TOML config: the OpenAI fake at `/`, the Anthropic fake at `/anthropic`
    (left out with `anthropic=False`, as after a config change)."""
    async def build(*, anthropic: bool = True):
        anthropic_table = f"""
[[providers]]
name = "anthropic"
base_url = "{str(providers_server.make_url('')).rstrip('/')}"
prefix = "/anthropic"
format = "anthropic"
""" if anthropic else ""
        config_file = tmp_path / f"llmlog-{anthropic}.toml"
        config_file.write_text(f"""
[store]
path = "{db_path}"
batch_interval_ms = 20

[[providers]]
name = "openai"
base_url = "{str(upstream.make_url('')).rstrip('/')}"
prefix = "/"
{anthropic_table}""")
        return await served(aiohttp_client, make_app(load_config(config_file, env={})))
    return build


async def claude_call(client, prompt: str, key: str = "sk-ant-original", **headers) -> str:
    body = {"model": CLAUDE, "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}
    resp = await client.post("/anthropic/v1/messages", json=body,
                             headers={"x-api-key": key, "anthropic-version": "2023-06-01", **headers})
    assert resp.status == 200, await resp.text()
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def test_proxy_path_keeps_the_provider_prefix_and_is_null_without_the_provider(providers_proxy):
    client = await providers_proxy()
    claude = await claude_call(client, "hello claude")
    resp = await client.post("/v1/chat/completions", headers={"Authorization": "Bearer sk-test"},
                             json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    await resp.read()
    openai = resp.headers["x-llmlog-id"]
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{claude}")).json()
    assert (entry["provider"], entry["path"], entry["proxy_path"]) == ("anthropic", "/v1/messages",
                                                                        "/anthropic/v1/messages")
    entry = await (await client.get(f"/v1/logs/{openai}")).json()
    assert (entry["provider"], entry["path"], entry["proxy_path"]) == ("openai", "/v1/chat/completions",
                                                                        "/v1/chat/completions")
    # the list's entries do not carry it: it is for the one call's replay
    listed = await (await client.get("/v1/logs")).json()
    assert all("proxy_path" not in e for e in listed["logs"])

    doc = await (await client.get("/openapi.json")).json()
    schema = doc["paths"]["/v1/logs/{call_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "prefix" in schema["properties"]["proxy_path"]["description"]

    without = await providers_proxy(anthropic=False)  # the same database, Anthropic no longer configured
    entry = await (await without.get(f"/v1/logs/{claude}")).json()
    assert entry["provider"] == "anthropic" and entry["proxy_path"] is None
    entry = await (await without.get(f"/v1/logs/{openai}")).json()
    assert entry["proxy_path"] == "/v1/chat/completions"


async def test_the_pages_replay_reaches_the_provider_and_its_key_is_not_stored(
        providers_proxy, providers_server, db_path):  # noqa: F811
    client = await providers_proxy()
    original = await claude_call(client, "hello claude")
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{original}")).json()
    # what the page sends: same origin, the entry's body edited, a key pasted for this replay only
    body = {**entry["request"]["body"], "messages": [{"role": "user", "content": "hello again"}]}
    resp = await client.post(entry["proxy_path"], data=orjson.dumps(body),
                             headers={"Content-Type": "application/json", "x-api-key": ANTHROPIC_KEY,
                                      "anthropic-version": "2023-06-01", "Sec-Fetch-Site": "same-origin",
                                      "Origin": str(client.make_url("")).rstrip("/")})
    assert resp.status == 200
    replay = resp.headers["x-llmlog-id"]
    await resp.read()
    await flushed(client)
    sent = providers_server.fake.received[-1]
    assert sent["path"] == "/v1/messages" and orjson.loads(sent["body"]) == body
    assert dict((k.lower(), v) for k, v in sent["headers"])["x-api-key"] == ANTHROPIC_KEY
    stored = await (await client.get(f"/v1/logs/{replay}")).json()
    assert stored["provider"] == "anthropic"
    assert ["x-api-key", "[redacted]"] in stored["request"]["headers"]
    # another origin's page still cannot read the entry, hence neither its body nor its proxy_path
    resp = await client.get(f"/v1/logs/{original}", headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403 and (await resp.json())["error"]["param"] == "Origin"
    if not db_path.startswith("postgres"):
        assert ANTHROPIC_KEY.encode() not in database_bytes(db_path)
