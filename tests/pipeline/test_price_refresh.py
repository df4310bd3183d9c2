"""The optional price refresh (issue 15): genai-prices' published file, served here by a local
server, rebuilds the table new calls are priced with; any failure keeps the table in use; off by
default, when no task runs and nothing is fetched."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

import llmlog.proxy.pipeline.price_refresh as price_refresh
from llmlog.proxy.app import Seams
from llmlog.proxy.metrics import Metrics
from llmlog.proxy.pipeline.prices import price_table_for
from llmlog.proxy.settings import GENAI_PRICES_URL, load_config
from llmlog.proxy.state import METRICS, PRICES
from tests.conftest import CHAT, chat_body, flushed, wait_until
from tests.fakes.price_files import published_file

NEW_INPUT = "100"  # gpt-4o-mini's input price in the served file (USD per 1M tokens; really 0.15)


class PriceServer:
    """A local server for the price file: each path a different answer; counts the requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.authorizations: list[str | None] = []
        self.good = published_file({("openai", "gpt-4o-mini"): {"input_mtok": NEW_INPUT}})

    def app(self) -> web.Application:
        async def count(request, handler):
            self.requests += 1
            self.authorizations.append(request.headers.get("Authorization"))
            return await handler(request)
        app = web.Application(middlewares=[web.middleware(count)])

        async def good(request):
            return web.Response(body=self.good, content_type="application/json")

        async def chunked(request):  # no Content-Length: the cap applies while reading
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(self.good), 65536):
                await response.write(self.good[start:start + 65536])
            await response.write_eof()
            return response

        app.router.add_get("/data.json", good)
        app.router.add_get("/chunked.json", chunked)
        app.router.add_get("/garbage.json", lambda r: web.Response(body=b"<html>not json</html>"))
        app.router.add_get("/object.json", lambda r: web.json_response({"providers": []}))
        app.router.add_get("/empty.json", lambda r: web.json_response([]))
        app.router.add_get("/invalid.json", lambda r: web.json_response([{"id": "x", "models": "none"}]))
        app.router.add_get("/error.json", lambda r: web.Response(status=500, text="boom"))
        return app


@pytest.fixture
async def prices_server(aiohttp_server):
    server = PriceServer()
    running = await aiohttp_server(server.app(), host="127.0.0.1")
    server.url = lambda path: str(running.make_url(path))
    return server


def _rate(entry: dict, bucket: str) -> str:
    return next(b["usd_per_million"] for b in entry["cost_breakdown"]["buckets"] if b["bucket"] == bucket)


async def _call(client) -> dict:
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 200
    await resp.read()
    await flushed(client)
    return await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()


def test_the_default_url_is_genai_prices_own():
    from genai_prices.update_prices import DEFAULT_UPDATE_URL

    assert GENAI_PRICES_URL == DEFAULT_UPDATE_URL
    config = load_config(None, env={})
    assert config.pricing.refresh_hours == 0 and config.pricing.refresh_url == DEFAULT_UPDATE_URL
    env = {"LLMLOG_PRICE_REFRESH_HOURS": "6", "LLMLOG_PRICE_REFRESH_URL": "http://mirror.internal/p.json"}
    config = load_config(None, env=env)
    assert (config.pricing.refresh_hours, config.pricing.refresh_url) == (6.0, "http://mirror.internal/p.json")


@pytest.mark.parametrize("path", ["/data.json", "/chunked.json"])
async def test_a_refresh_prices_new_calls_with_the_new_data(make_proxy, prices_server, path):
    client = await make_proxy(pricing__refresh_hours=24, pricing__refresh_url=prices_server.url(path))
    metrics = client.app[METRICS]
    await wait_until(lambda: metrics.price_refreshes + metrics.price_refresh_failures > 0)
    assert (metrics.price_refreshes, metrics.price_refresh_failures) == (1, 0)
    shipped = price_table_for(load_config(None, env={}))
    entry = await _call(client)
    assert _rate(entry, "input") == NEW_INPUT
    assert entry["pricing_version"] == client.app[PRICES].table.version != shipped.version
    assert entry["pricing_version"].startswith("genai-prices-published+")
    assert "llmlog_price_refreshes_total 1" in await (await client.get("/metrics")).text()


async def test_a_refresh_sends_no_netrc_credentials(make_proxy, prices_server, tmp_path, monkeypatch):
    """~/.netrc's credentials are the user's, not the price host's: the fetch reads no netrc."""
    netrc = tmp_path / "netrc"
    netrc.write_text("default login netuser password netpass-SECRET\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = await make_proxy(pricing__refresh_hours=24, pricing__refresh_url=prices_server.url("/data.json"))
    metrics = client.app[METRICS]
    await wait_until(lambda: metrics.price_refreshes + metrics.price_refresh_failures > 0)
    assert (metrics.price_refreshes, prices_server.authorizations) == (1, [None])


@pytest.mark.parametrize("path", ["/garbage.json", "/object.json", "/empty.json", "/invalid.json", "/error.json",
                                  "/too-big", "/too-big-chunked", "unreachable"])
async def test_a_failed_refresh_keeps_the_shipped_table(make_proxy, prices_server, path, caplog):
    seams = Seams()
    if path.startswith("/too-big"):  # the real file, over a cap set below its size
        seams = Seams(price_file_max_bytes=len(prices_server.good) - 1)
        path = "/data.json" if path == "/too-big" else "/chunked.json"
    url = "http://127.0.0.1:9/data.json" if path == "unreachable" else prices_server.url(path)
    client = await make_proxy(pricing__refresh_hours=24, pricing__refresh_url=url, seams=seams)
    metrics = client.app[METRICS]
    before = client.app[PRICES].table
    await wait_until(lambda: metrics.price_refresh_failures > 0)
    assert metrics.price_refreshes == 0 and client.app[PRICES].table is before
    entry = await _call(client)
    assert _rate(entry, "input") == "0.15"
    assert entry["pricing_version"] == before.version
    failures = [r for r in caplog.records if r.name == "llmlog.pricing"]
    assert len(failures) == 1 and "keeping prices" in failures[0].getMessage()


async def test_off_by_default_no_task_and_no_request(make_proxy, prices_server):
    client = await make_proxy(pricing__refresh_url=prices_server.url("/data.json"))
    entry = await _call(client)
    await asyncio.sleep(0.1)
    assert prices_server.requests == 0
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "llmlog-price-refresh"]
    assert _rate(entry, "input") == "0.15"
    assert client.app[METRICS].price_refreshes == client.app[METRICS].price_refresh_failures == 0


async def test_a_failure_after_a_refresh_keeps_the_refreshed_table(aiohttp_client, prices_server, tmp_path):
    config = load_config(None, env={})
    holder = price_refresh.PriceHolder(price_table_for(config))
    metrics = Metrics()
    import aiohttp
    async with aiohttp.ClientSession() as session:
        assert await price_refresh.refresh_once(holder, session, prices_server.url("/data.json"), config, metrics)
        refreshed = holder.table
        assert not await price_refresh.refresh_once(holder, session, prices_server.url("/garbage.json"), config,
                                                    metrics)
    assert holder.table is refreshed and (metrics.price_refreshes, metrics.price_refresh_failures) == (1, 1)


def test_a_refreshed_table_keeps_the_config_layers(tmp_path):
    path = tmp_path / "llmlog.toml"
    path.write_text('[pricing.models."gpt-4o-mini"]\ninput = 7\noutput = 8\n')
    config = load_config(path, env={})
    table = price_refresh.table_from_file(published_file({("openai", "gpt-4o-mini"): {"input_mtok": "100"}}),
                                          config)
    assert table.lookup("gpt-4o-mini").price.input == 7  # the override still wins over new data
    assert table.lookup("gpt-4o").price.layer_of("input") == price_refresh.REFRESHED_LABEL
    assert any(p.origin == "correction" for p in table)  # llmlog's corrections are applied again


def test_the_version_names_the_data():
    config = load_config(None, env={})
    one = price_refresh.table_from_file(published_file(), config)
    same = price_refresh.table_from_file(published_file(), config)
    changed = price_refresh.table_from_file(published_file({("openai", "gpt-4o"): {"output_mtok": "11"}}), config)
    assert one.version == same.version != changed.version
    json.dumps(one.version)
