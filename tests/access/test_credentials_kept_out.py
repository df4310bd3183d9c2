"""Credentials never reach the store, exports or error text: whatever header or query name they
travel under, and when a provider quotes them back. Proxy credentials go no further than llmlog."""

from __future__ import annotations

import orjson
import pytest
from aiohttp import web

from llmlog.proxy.headers import is_secret_header, is_secret_query_param
from llmlog.proxy.pipeline.scrub import key_prefix
from tests.conftest import CHAT, chat_body, database_bytes, flushed
from tests.fakes.raw_http import raw_request

SECRET_HEADERS = {
    "x-goog-api-key": "AIzaTOPSECRETgoog0001",
    "x-auth-token": "TOPSECRETauthtoken0002",
    "X-Custom-Secret": "TOPSECRETcustom0003",
    "x-amz-security-token": "TOPSECRETamz0004",
    "X-Db-Password": "TOPSECRETpassword0005",
    "Authorization": "Bearer sk-TOPSECRETbearer0006",
}
QUERY_SECRETS = {"%6Bey": "TOPSECRETpctkey0007", "x-goog-api-key": "TOPSECRETqgoog0008"}


@pytest.mark.parametrize("name", ["x-goog-api-key", "x-auth-token", "client_secret", "X-Db-Password", "x-sessionkey",
                                  "x-amz-security-token", "xapikey", "Cookie", "proxy-authorization"])
def test_names_that_say_credential_are_secret(name):
    assert is_secret_header(name)


@pytest.mark.parametrize("name", ["x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining",
                                  "openai-organization", "content-type", "x-request-id", "author"])
def test_ordinary_names_stay_readable(name):
    assert not is_secret_header(name)


def test_percent_encoded_query_names_are_decoded_first():
    assert is_secret_query_param("%6Bey") and is_secret_query_param("%6b%65y") and not is_secret_query_param("alt")
    assert is_secret_query_param("key%00") and is_secret_query_param("%20key")


async def test_no_credential_under_any_name_reaches_the_database_or_an_export(proxy, db_path):
    query = "&".join(f"{k}={v}" for k, v in QUERY_SECRETS.items()) + "&alt=sse"
    body = chat_body("credentials test")
    head = f"POST {CHAT}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n" + "\r\n".join(
        f"{name}: {value}" for name, value in SECRET_HEADERS.items())
    status, answer = await raw_request(proxy, head.encode(), body)  # as sent: aiohttp's client decodes %6B
    assert status == 200
    call_id = answer.split(b"x-llmlog-id: ", 1)[1].split(b"\r\n", 1)[0].decode()
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    stored = {name.lower(): value for name, value in entry["request"]["headers"]}
    for name in SECRET_HEADERS:
        assert stored[name.lower()] == "[redacted]", name
    assert entry["request"]["query"] == "%6Bey=[redacted]&x-goog-api-key=[redacted]&alt=sse"
    fields = "id,request_headers,request_query"
    exports = [await (await proxy.get("/v1/logs/export", params={"format": fmt, "fields": fields})).read()
               for fmt in ("jsonl", "csv")]
    everything = database_bytes(db_path) + b"".join(exports)
    assert b"credentials test" in everything
    for secret in [*(v.split()[-1] for v in SECRET_HEADERS.values()), *QUERY_SECRETS.values()]:
        assert secret.encode() not in everything, secret


@pytest.mark.parametrize("key", ["sk-LEAKEDkey-00000009", "abc1234"])
async def test_a_provider_quoting_the_key_back_is_scrubbed_from_the_error(make_proxy, aiohttp_server, db_path, key):
    async def refuse(request: web.Request) -> web.Response:
        key = request.headers["Authorization"].split()[-1]
        return web.json_response({"error": {"message": f"Incorrect API key provided: {key}.",
                                            "type": "invalid_request_error", "code": "invalid_api_key"}},
                                 status=401)
    app = web.Application()
    app.router.add_post(CHAT, refuse)
    server = await aiohttp_server(app, host="127.0.0.1")
    client = await make_proxy(upstream_url=str(server.make_url("")).rstrip("/"))
    resp = await client.post(CHAT, data=chat_body(), headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 401
    assert key.encode() in await resp.read()  # the client gets the answer as sent
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["error"] == "Incorrect API key provided: [redacted]."
    if len(key) >= 8:  # a short key is scrubbed from errors only: in bodies "[redacted]" would ruin text
        assert key.encode() not in database_bytes(db_path)


@pytest.mark.parametrize("key,prefix", [
    ("sk-proj-" + "x" * 150, "sk-proj-xx"),
    ("sk-live-SECRETVALUE", "sk-l"),
    ("short-key-1", None),
    ("abc", None),
])
def test_a_short_key_is_never_shown_whole(key, prefix):
    assert key_prefix(key) == prefix


async def test_a_short_key_is_not_stored_as_its_prefix(proxy, db_path):
    resp = await proxy.post(CHAT, data=chat_body(), headers={"Authorization": "Bearer tiny-key-9"})
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["api_key_prefix"] is None and len(entry["api_key_hash"]) == 64
    assert b"tiny-key-9" not in database_bytes(db_path)


async def test_proxy_credentials_go_no_further(make_proxy, aiohttp_server, fake):
    seen = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True}, headers={"Proxy-Authenticate": 'Basic realm="corp"',
                                                        "X-Kept": "1"})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = await aiohttp_server(app, host="127.0.0.1")
    client = await make_proxy(upstream_url=str(server.make_url("")).rstrip("/"))
    resp = await client.get("/v1/models", headers={"Proxy-Authorization": "Basic c2VjcmV0OnNlY3JldA=="})
    assert resp.status == 200
    assert "Proxy-Authenticate" not in resp.headers and resp.headers["X-Kept"] == "1"
    assert "Proxy-Authorization" not in seen[0]


@pytest.mark.parametrize("target,upstream_path", [
    (b"//evil.example/v1/models", "/evil.example/v1/models"),
    (b"/v1/a/../models", "/v1/models"),
    (b"/v1/a/%2e%2E/models?x=/../", "/v1/models?x=/../"),
    (b"/v1/./models", "/v1/models"),
    (b"/../../v1/models", "/v1/models"),
])
async def test_the_target_sent_upstream_is_normalised(proxy, fake, target, upstream_path):
    status, answer = await raw_request(proxy, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1")
    assert status == 200
    assert fake.received[-1]["path"] == upstream_path
    assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["path"] == upstream_path


def test_every_provider_key_header_is_a_secret_header():
    # request_credentials finds the provider key among the secret headers, in one pass
    from llmlog.proxy.headers import PROVIDER_KEY_HEADERS
    assert all(is_secret_header(name) for name in PROVIDER_KEY_HEADERS)


@pytest.mark.parametrize("headers, query, key, secrets", [
    ([], "", None, ()),
    ([("Content-Type", "application/json")], "", None, ()),
    ([("Authorization", "Bearer sk-abcdefgh")], "", "sk-abcdefgh", ("sk-abcdefgh",)),
    # the order of PROVIDER_KEY_HEADERS decides the key, whatever order the headers came in
    ([("x-api-key", "sk-ant-key1"), ("Authorization", "Bearer sk-openai-2")], "", "sk-openai-2",
     ("sk-openai-2", "sk-ant-key1")),
    # an empty Authorization falls through to the next provider key header
    ([("Authorization", ""), ("X-Goog-Api-Key", "AIzagoog")], "", "AIzagoog", ("AIzagoog",)),
    # the last of two same-named headers is the key; both are secrets, longest first
    ([("authorization", "Bearer first-key-1"), ("Authorization", "Bearer second-key-22")], "", "second-key-22",
     ("second-key-22", "first-key-1")),
    # a short value is no key to scrub, but still the key whose hash the entry keeps
    ([("api-key", "abc")], "", "abc", ()),
    ([("Cookie", "session=s3cr3tcookie")], "key=QUERYKEY%2B1&alt=sse", None,
     ("session=s3cr3tcookie", "QUERYKEY%2B1", "QUERYKEY+1")),
])
def test_request_credentials_reads_the_key_and_every_secret(headers, query, key, secrets):
    from llmlog.proxy.pipeline.scrub import api_key_of, presented_secrets, request_credentials
    got_key, got = request_credentials(headers, query)
    # longest first (values of equal length in any order: neither can hold the other)
    assert got_key == key and sorted(got) == sorted(secrets) and [len(s) for s in got] == [len(s) for s in secrets]
    assert api_key_of(headers) == key and presented_secrets(headers, query) == got
