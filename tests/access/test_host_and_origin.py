"""No web page can read the logs or spend the server's provider key: the Host must name llmlog
(DNS rebinding), and browsers from another origin are refused on the logs API and on calls that
llmlog would add its own key to."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.proxy.access.guard import HostPolicy, host_name, is_cross_origin
from llmlog.proxy.app import make_app
from llmlog.proxy.settings import ConfigError, load_config
from tests.conftest import CHAT, chat_body, flushed, served, stored_ids
from tests.fakes.raw_http import raw_request


async def test_a_rebound_host_name_reads_nothing_and_forwards_nothing(proxy, fake, db_path):
    resp = await proxy.post(CHAT, data=chat_body("seen"))
    assert resp.status == 200
    await flushed(proxy)
    for method, path in (("GET", "/v1/logs"), ("GET", "/v1/logs/summary"), ("POST", CHAT), ("GET", "/ui")):
        resp = await proxy.request(method, path, data=chat_body("rebound"),
                                   headers={"Host": "rebind.attacker.example:8080"})
        assert resp.status == 403, path
        error = (await resp.json())["error"]
        assert error["param"] == "Host" and "server.allowed_hosts" in error["message"]
    assert len(fake.received) == 1  # only the first call
    await flushed(proxy)
    assert len(stored_ids(db_path)) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost:8080", "LOCALHOST.", "[::1]:8080",
                                  "app.localhost", "10.1.2.3:80"])
async def test_loopback_names_and_addresses_are_answered(proxy, host):
    resp = await proxy.get("/v1/logs", headers={"Host": host})
    assert resp.status == 200, host


async def test_allowed_hosts_name_a_load_balancer(make_proxy, fake):
    client = await make_proxy(server__allowed_hosts=["llmlog.internal", ".corp.example"])
    for host, status in (("llmlog.internal", 200), ("llmlog.internal:443", 200), ("logs.corp.example", 200),
                         ("corp.example", 200), ("evilcorp.example", 403), ("llmlog.internal.evil", 403)):
        assert (await client.get("/v1/logs", headers={"Host": host})).status == status, host
        assert (await client.post(CHAT, data=chat_body(), headers={"Host": host})).status == status, host


def test_allowed_hosts_from_the_environment():
    config = load_config(None, env={"LLMLOG_ALLOWED_HOSTS": "a.example, b.example"})
    assert config.server.allowed_hosts == ("a.example", "b.example")


async def test_an_absolute_form_target_must_name_llmlog_too(proxy, fake):
    status, _ = await raw_request(proxy, b"GET http://rebind.attacker.example/v1/logs HTTP/1.1\r\nHost: 127.0.0.1")
    assert status == 403
    port = str(proxy.server.port).encode()
    status, answer = await raw_request(
        proxy, b"POST http://127.0.0.1:" + port + b"/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(chat_body())).encode(), chat_body())
    assert status == 200
    assert fake.received[-1]["path"] == "/v1/chat/completions"  # origin form upstream


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
])
async def test_the_logs_api_refuses_other_origins(proxy, headers):
    call = await proxy.post(CHAT, data=chat_body())
    call_id = call.headers["x-llmlog-id"]
    await flushed(proxy)
    resp = await proxy.get("/v1/logs", headers=headers)
    assert resp.status == 403
    assert (await resp.json())["error"]["param"] == "Origin"
    # a "simple" cross-site POST (text/plain, no preflight) cannot give feedback either
    resp = await proxy.post(f"/v1/logs/{call_id}/feedback", data=b'{"score": 1}',
                            headers={**headers, "Content-Type": "text/plain"})
    assert resp.status == 403
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    assert entry["feedback"] is None


async def test_llmlogs_own_page_and_programs_are_answered(proxy):
    host = f"127.0.0.1:{proxy.server.port}"
    for headers in ({}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
                    {"Origin": f"http://{host}"}):
        assert (await proxy.get("/v1/logs", headers=headers)).status == 200, headers


@pytest.fixture
async def injecting(aiohttp_client, upstream, tmp_path, monkeypatch):
    """A proxy that adds the server's own provider key (api_key_env) when a client sends none."""
    monkeypatch.setenv("FAKE_PROVIDER_KEY", "sk-server-side-key-123456")
    path = tmp_path / "llmlog.toml"
    path.write_text(f"""
[store]
path = "{tmp_path / 'llmlog.db'}"
batch_interval_ms = 20
[[providers]]
name = "fake"
base_url = "{str(upstream.make_url('')).rstrip('/')}"
prefix = "/"
api_key_env = "FAKE_PROVIDER_KEY"
""")
    return await served(aiohttp_client, make_app(load_config(path, env={})))


async def test_a_cross_site_post_cannot_spend_the_injected_key(injecting, fake):
    resp = await injecting.post(CHAT, data=chat_body("from a web page"),
                                headers={"Content-Type": "text/plain", "Origin": "https://evil.example",
                                         "Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403
    assert "another origin" in (await resp.json())["error"]["message"]
    assert fake.received == []
    # a program (no Origin) gets the key added, and a page sending its own key is its own business
    assert (await injecting.post(CHAT, data=chat_body())).status == 200
    assert dict(fake.received[-1]["headers"])["Authorization"] == "Bearer sk-server-side-key-123456"
    resp = await injecting.post(CHAT, data=chat_body(), headers={"Origin": "https://app.example",
                                                                 "Authorization": "Bearer sk-page-own"})
    assert resp.status == 200
    assert dict(fake.received[-1]["headers"])["Authorization"] == "Bearer sk-page-own"


async def test_without_an_injected_key_browsers_may_call_providers(proxy, fake):
    resp = await proxy.post(CHAT, data=chat_body(), headers={"Origin": "https://app.example",
                                                             "Authorization": "Bearer sk-page-own"})
    assert resp.status == 200


def test_host_policy_pieces():
    assert host_name("Example.COM.:8080") == "example.com" and host_name("[::1]:80") == "::1"
    policy = HostPolicy("0.0.0.0", ["*"])
    assert policy.allows("anything.example")
    assert is_cross_origin({"Origin": "https://llmlog.example", "Host": "llmlog.example:8443"}, HostPolicy("x"))
    for host in ("llmlog.example", "llmlog.example:443"):
        assert not is_cross_origin({"Origin": "https://llmlog.example", "Host": host}, HostPolicy("x"))


@pytest.mark.parametrize("keys", [[""], ["  "], [" padded-key"], ["two words"], ["\u200b\u200b"], ["caf\u00e9-key"]])
def test_an_empty_or_blank_logs_key_is_a_configuration_error(tmp_path, keys):
    path = tmp_path / "llmlog.toml"
    path.write_text("[logs_api]\napi_keys = [" + ", ".join(f'"{k}"' for k in keys) + "]\n")
    with pytest.raises(ConfigError, match="logs API key|empty key"):
        load_config(path, env={})
    result = CliRunner().invoke(cli.main, ["serve", "--config", str(path), "--host", "0.0.0.0",
                                           "--db", str(tmp_path / "x.db")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "key" in result.output
    assert not (tmp_path / "x.db").exists()


def test_a_blank_admin_key_in_the_environment_is_an_error():
    with pytest.raises(ConfigError, match="empty key"):
        load_config(None, env={"LLMLOG_ADMIN_KEY": "   "})


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:9999", "http://localhost",
                                    "http://app.localhost:8080"])
async def test_another_port_or_name_on_this_machine_is_another_origin(proxy, origin):
    """Without Sec-Fetch-Site (older browsers), Origin must be the request's own host and port."""
    assert (await proxy.get("/v1/logs", headers={"Origin": origin})).status == 403


async def test_a_cross_origin_call_with_a_local_origin_cannot_spend_the_injected_key(injecting, fake):
    resp = await injecting.post(CHAT, data=chat_body(), headers={"Content-Type": "text/plain",
                                                                 "Origin": "http://localhost:3000"})
    assert resp.status == 403 and fake.received == []


def test_an_allow_list_entry_that_names_no_domain_allows_nothing_more():
    policy = HostPolicy("127.0.0.1", [".", "*.", ""])
    assert not policy.allows("attacker.example") and policy.allows("localhost")


@pytest.mark.parametrize("port", ["65536", "99999", "-1"])
def test_a_port_out_of_range_is_one_clear_line(tmp_path, port):
    result = CliRunner().invoke(cli.main, ["serve", "--db", str(tmp_path / "x.db"), "--port", port])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a ClickException, no traceback
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: server.port") and port in line
