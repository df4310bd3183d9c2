"""The two upstream clients (`upstream.client`: llmlog's own, aiohttp's ClientSession) against the same
fake upstream: the caller gets the same bytes, the upstream the same request, the log the same entry.
And the aiohttp client reaches providers through an egress proxy named by HTTPS_PROXY / HTTP_PROXY."""

from __future__ import annotations

import gzip
import logging
import shutil
import ssl
import subprocess

import aiohttp
import orjson
import pytest

from tests.conftest import CHAT, chat_body, flushed
from tests.fakes.forward_proxy import PROXY_VARIABLES, ForwardProxy

CLIENTS = ("llmlog", "aiohttp")
# set by the HTTP server answering, not by the upstream's answer
PER_RESPONSE = {"date", "x-llmlog-id"}


@pytest.fixture(autouse=True)
def no_machine_proxy(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def proxies(make_proxy, tmp_path):
    """One proxy per client, both in front of the same fake upstream, each with its own store."""
    return {kind: await make_proxy(upstream__client=kind, store__path=str(tmp_path / f"{kind}.db"))
            for kind in CLIENTS}


async def exchange(client, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict:
    """What the caller got, byte for byte (no decompression on the way), and the entry logged."""
    async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding")) as s:
        async with s.request(method, client.make_url(path), data=body or None, headers=headers) as resp:
            pieces = [piece async for piece in resp.content.iter_any()]
            got = {"status": resp.status, "reason": resp.reason, "body": b"".join(pieces),
                   "headers": [(k, v) for k, v in resp.raw_headers if k.decode().lower() not in PER_RESPONSE]}
            call_id = resp.headers["x-llmlog-id"]
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{call_id}")).json()
    got["entry"] = {key: entry[key] for key in ("status", "status_code", "model", "stream", "input_tokens",
                                                "output_tokens", "usage_source", "error", "output")}
    got["entry"]["response_headers"] = [h for h in entry["response"]["headers"] if h[0].lower() != "date"]
    got["entry"]["response_body"] = entry["response"]["body"]
    return got


CASES = {
    "json": ("POST", CHAT, chat_body("compare these bytes"), {"Content-Type": "application/json"}),
    "sse": ("POST", CHAT, chat_body("one event a word", stream=True), {"Content-Type": "application/json"}),
    "sse-with-usage": ("POST", CHAT, chat_body("usage at the end", stream=True,
                                               stream_options={"include_usage": True}), {}),
    "gzip": ("POST", CHAT, chat_body("packed answer"), {"Accept-Encoding": "gzip"}),
    "error-400": ("POST", CHAT, orjson.dumps({"model": "bad-model", "messages": []}), {}),
    "error-404": ("POST", CHAT, orjson.dumps({"model": "bad-model", "messages": [], "want_404": True}), {}),
    "get-no-body": ("GET", "/v1/models?limit=2&after=a%20b", b"", {"X-Dup": "1"}),
    "odd-target-and-headers": ("POST", "/v1/anything/here?b=2&a=1&a=3", b'{"odd":   [1,2]}',
                               {"X-Custom": "kept", "x-custom": "twice", "Content-Type": "text/plain"}),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_both_clients_hand_the_caller_the_same_bytes_and_log_the_same(proxies, fake, case):
    method, path, body, headers = CASES[case]
    fake.chunk_delay_s = 0.005 if "sse" in case else 0.0  # events in separate reads, as a provider sends them
    fake.gzip_answers = case == "gzip"
    got = {}
    for kind, client in proxies.items():
        got[kind] = await exchange(client, method, path, body, headers)
        got[kind]["sent"] = fake.received[-1]  # what the upstream got from this client
    llmlog, via_aiohttp = got["llmlog"], got["aiohttp"]
    assert llmlog == via_aiohttp
    assert llmlog["sent"]["body"] == body and llmlog["sent"]["path"] == path
    if case == "gzip":  # passed through packed, as sent, by both
        assert ("Content-Encoding", "gzip") in [(k.decode(), v.decode()) for k, v in llmlog["headers"]]
        assert b"packed answer" in gzip.decompress(llmlog["body"])
    if case.startswith("sse"):
        assert llmlog["body"].endswith(b"data: [DONE]\n\n") and llmlog["entry"]["stream"]
    assert llmlog["entry"]["status"] == ("error" if case.startswith("error") else "success")


async def test_both_clients_send_no_header_the_caller_did_not(proxies, fake):
    for client in proxies.values():
        async with aiohttp.ClientSession(skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding")) as s:
            async with s.post(client.make_url(CHAT), data=chat_body(), headers={"X-Only": "this"}) as resp:
                assert resp.status == 200
    llmlog, via_aiohttp = fake.received[-2]["headers"], fake.received[-1]["headers"]
    assert llmlog == via_aiohttp
    assert [name.lower() for name, _ in llmlog] == ["host", "x-only", "content-type", "content-length"]


@pytest.fixture
def netrc_for_every_host(tmp_path, monkeypatch):
    """A netrc file with credentials for any host (`default`), where $NETRC points: what aiohttp's
    `trust_env` reads and would add to calls as `Authorization: Basic`."""
    path = tmp_path / "netrc"
    path.write_text("default login netuser password netpass-SECRET\n")
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    return path


def authorizations(headers: list[tuple[str, str]], name: str = "authorization") -> list[str]:
    return [value for key, value in headers if key.lower() == name]


@pytest.mark.parametrize("key", [("x-api-key", "sk-ant-caller"), ("Authorization", "Bearer sk-caller")],
                         ids=["x-api-key", "bearer"])
async def test_no_netrc_credential_is_ever_added_to_a_call(proxies, fake, netrc_for_every_host, key):
    for kind, client in proxies.items():
        resp = await client.post(CHAT, data=chat_body(), headers=dict([key]))
        assert resp.status == 200, (kind, await resp.text())
        sent = fake.received[-1]["headers"]
        assert authorizations(sent) == ([key[1]] if key[0] == "Authorization" else []), kind
        assert authorizations(sent, key[0].lower()) == [key[1]]
        assert "netpass" not in str(sent)


@pytest.fixture
async def forward_proxy(upstream):
    """An egress proxy that carries every call to the fake upstream, whatever host it names."""
    server = await ForwardProxy(("127.0.0.1", upstream.port)).start()
    yield server
    await server.stop()


UNRESOLVABLE = "llmlog-upstream.invalid"  # never resolves (RFC 6761): reached only through the proxy


async def test_the_aiohttp_client_sends_http_calls_through_http_proxy(make_proxy, forward_proxy, upstream, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    client = await make_proxy(upstream_url=f"http://{UNRESOLVABLE}:{upstream.port}", upstream__client="aiohttp")
    resp = await client.post(CHAT, data=chat_body("through the proxy"))
    assert resp.status == 200
    assert "through the proxy" in (await resp.json())["choices"][0]["message"]["content"]
    assert forward_proxy.request_lines == [f"POST http://{UNRESOLVABLE}:{upstream.port}/v1/chat/completions "
                                           "HTTP/1.1".encode()]


@pytest.fixture(scope="module")
def certificate_for_the_name(tmp_path_factory):
    """A certificate for UNRESOLVABLE that is its own authority (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls-name")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={UNRESOLVABLE}", "-addext", f"subjectAltName=DNS:{UNRESOLVABLE}",
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    return cert, key


async def test_the_aiohttp_client_tunnels_https_calls_through_https_proxy(make_proxy, aiohttp_server, fake,
                                                                         certificate_for_the_name, monkeypatch):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate_for_the_name)
    tls_upstream = await aiohttp_server(fake.app(), host="127.0.0.1", ssl=context)
    tunnel = await ForwardProxy(("127.0.0.1", tls_upstream.port)).start()
    try:
        monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
        monkeypatch.setenv("SSL_CERT_FILE", certificate_for_the_name[0])
        client = await make_proxy(upstream_url=f"https://{UNRESOLVABLE}", upstream__client="aiohttp")
        resp = await client.post(CHAT, data=chat_body("tunnelled", stream=True))
        assert resp.status == 200 and (await resp.read()).endswith(b"data: [DONE]\n\n")
        assert tunnel.request_lines == [f"CONNECT {UNRESOLVABLE}:443 HTTP/1.1".encode()]
        assert fake.received[-1]["body"] == chat_body("tunnelled", stream=True)  # verified TLS, end to end
    finally:
        await tunnel.stop()


async def test_only_the_proxy_url_s_own_credentials_go_to_the_proxy_and_netrc_s_never(
        make_proxy, forward_proxy, upstream, netrc_for_every_host, monkeypatch):
    client = await make_proxy(upstream_url=f"http://{UNRESOLVABLE}:{upstream.port}", upstream__client="aiohttp")
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    assert (await client.post(CHAT, data=chat_body(), headers={"x-api-key": "sk-ant-caller"})).status == 200
    with_credentials = forward_proxy.url.replace("http://", "http://puser:ppass@")
    monkeypatch.setenv("HTTP_PROXY", with_credentials)
    client = await make_proxy(upstream_url=f"http://{UNRESOLVABLE}:{upstream.port}", upstream__client="aiohttp")
    assert (await client.post(CHAT, data=chat_body(), headers={"x-api-key": "sk-ant-caller"})).status == 200
    without, given = (head.decode() for head in forward_proxy.heads)
    assert "netpass" not in without and "authorization" not in without.lower()
    assert "Proxy-Authorization: Basic cHVzZXI6cHBhc3M=" in given  # base64 of puser:ppass
    assert "netpass" not in given


async def test_no_proxy_is_honoured_and_the_llmlog_client_never_uses_a_proxy(make_proxy, forward_proxy, upstream,
                                                                             monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    via_aiohttp = await make_proxy(upstream__client="aiohttp")
    assert (await via_aiohttp.post(CHAT, data=chat_body())).status == 200
    monkeypatch.delenv("NO_PROXY")
    own = await make_proxy(upstream__client="llmlog")
    assert (await own.post(CHAT, data=chat_body())).status == 200
    assert forward_proxy.request_lines == []  # both went straight to the upstream


@pytest.mark.parametrize("kind, scheme, variables, warned", [
    ("llmlog", "http", {"HTTP_PROXY": "http://proxy.invalid:3128"}, "HTTP_PROXY is set"),
    ("llmlog", "https", {"https_proxy": "proxy.invalid:3128"}, "https_proxy is set"),
    ("llmlog", "http", {"HTTPS_PROXY": "http://proxy.invalid:3128"}, None),  # names no proxy for http://
    ("llmlog", "https", {"HTTPS_PROXY": "http://proxy.invalid:3128", "NO_PROXY": ".invalid"}, None),
    ("aiohttp", "http", {"HTTP_PROXY": "http://proxy.invalid:3128"}, None),  # honoured, not ignored
], ids=["http-proxy", "lower-case-https-proxy", "https-proxy-for-an-http-provider", "no-proxy-covers-it",
        "the-aiohttp-client"])
async def test_a_proxy_the_llmlog_client_would_ignore_is_one_warning_at_start(make_proxy, caplog, monkeypatch,
                                                                              kind, scheme, variables, warned):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.WARNING, logger="llmlog"):
        await make_proxy(upstream_url=f"{scheme}://{UNRESOLVABLE}", upstream__client=kind)
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    if warned is None:
        assert warnings == []
    else:
        [warning] = warnings
        assert warning.startswith(warned) and 'set upstream.client = "aiohttp"' in warning
        assert "proxy.invalid" not in warning  # the variable's name, never its value (it may hold a password)


async def test_a_proxy_that_cannot_be_reached_is_a_logged_502(make_proxy, unused_tcp_port, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{unused_tcp_port}")
    client = await make_proxy(upstream_url=f"https://{UNRESOLVABLE}", upstream__client="aiohttp")
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502 and (await resp.json())["error"]["type"] == "upstream_unreachable"
    await flushed(client)
    [entry] = (await (await client.get("/v1/logs")).json())["logs"]
    assert (entry["status"], entry["status_code"]) == ("error", 502)


async def test_a_proxy_refusing_the_tunnel_is_a_logged_502_that_says_so(make_proxy, forward_proxy, monkeypatch):
    forward_proxy.refusal = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    client = await make_proxy(upstream_url=f"https://{UNRESOLVABLE}", upstream__client="aiohttp")
    resp = await client.post(CHAT, data=chat_body())
    assert resp.status == 502 and (await resp.json())["error"]["type"] == "upstream_unreachable"
    await flushed(client)
    [entry] = (await (await client.get("/v1/logs")).json())["logs"]
    assert f"the proxy refused the call to {UNRESOLVABLE}:443: 403" in entry["error"]
