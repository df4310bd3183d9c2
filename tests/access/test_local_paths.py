"""llmlog's own paths are answered by llmlog, 404 and 405 included: never forwarded to a provider
(with whatever key they carry, the logs API key included) and never logged as calls."""

from __future__ import annotations

import pytest

from llmlog.proxy.access.local_paths import OPEN_PREFIXES, PROTECTED_PREFIXES, is_local, is_protected
from tests.conftest import CHAT, chat_body, flushed, stored_ids
from tests.fakes.raw_http import raw_request

KEY = "admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_the_named_path_sets_are_exact():
    assert PROTECTED_PREFIXES == ("/v1/logs", "/v1/request-logs", "/api/v1/llm-logs", "/api/v1/statistics",
                                  "/openapi.json")
    assert OPEN_PREFIXES == ("/ui", "/healthz", "/metrics", "/favicon.ico")
    assert is_protected("/V1/Logs/x") and is_local("/ui/x") and is_local("/")
    assert not is_local("/v1/logsx") and not is_local("/v1/chat/completions")


@pytest.fixture
async def keyed(make_proxy):
    return await make_proxy(logs_api__api_keys=[KEY])


@pytest.mark.parametrize("method,path,status", [
    ("POST", "/v1/logs", 405),
    ("PUT", "/v1/logs/some-id", 405),
    ("GET", "/v1/logs/some-id/typo", 404),
    ("GET", "/v1/logs/exports/x/y/z", 404),
    ("POST", "/v1/request-logs", 405),
    ("GET", "/v1/request-logs/x/y/z", 404),
    ("GET", "/api/v1/llm-logs/future", 404),
    ("GET", "/V1/LOGS/some-id/typo", 404),
    ("GET", "/v1//logs/some-id/typo", 404),
    ("GET", "/v1/chat/../logs/x/y", 404),
    ("GET", "/v1/logs/..%2f..%2fchat%2fcompletions", 404),
    ("POST", "/openapi.json", 405),
])
async def test_a_logs_api_path_no_route_serves_is_answered_locally(keyed, fake, db_path, method, path, status):
    resp = await keyed.request(method, path, headers=AUTH, data=chat_body())
    assert resp.status == status, await resp.text()
    error = (await resp.json())["error"]
    assert error["type"] == {404: "not_found_error", 405: "invalid_request_error"}[status]
    if status == 405:
        assert "GET" in resp.headers["Allow"]
    assert "x-llmlog-id" not in resp.headers
    assert fake.received == []  # the admin key never went upstream
    await flushed(keyed)
    assert stored_ids(db_path) == []  # and nothing was logged as a call


async def test_without_the_key_such_a_path_is_refused_before_anything_else(keyed, fake):
    resp = await keyed.post("/v1/logs", data=chat_body())
    assert resp.status == 401
    assert fake.received == []


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/ui/nothing/here", 404),
    ("POST", "/healthz", 405),
    ("GET", "/metrics/extra", 404),
    ("GET", "/favicon.ico/x", 404),
    ("POST", "/favicon.ico", 405),
    ("DELETE", "/ui", 405),
])
async def test_the_open_local_paths_are_never_forwarded_either(proxy, fake, db_path, method, path, status):
    resp = await proxy.request(method, path)
    assert resp.status == status
    assert "error" in await resp.json()
    assert fake.received == []
    await flushed(proxy)
    assert stored_ids(db_path) == []


@pytest.mark.parametrize("accept", [None, "*/*", "text/html,application/xhtml+xml,application/json;q=0.9"])
async def test_the_root_leads_to_the_logs_page(proxy, fake, db_path, accept):
    resp = await proxy.get("/", allow_redirects=False, headers={"Accept": accept} if accept else {})
    assert (resp.status, resp.headers["Location"]) == (302, "/ui")
    assert "x-llmlog-id" not in resp.headers
    assert fake.received == []
    await flushed(proxy)
    assert stored_ids(db_path) == []


async def test_the_root_answers_a_program_that_asks_for_json(proxy, fake, db_path):
    resp = await proxy.get("/", allow_redirects=False, headers={"Accept": "application/json"})
    assert resp.status == 200
    assert await resp.json() == {"service": "llmlog", "logs_page": "/ui", "logs_api": "/v1/logs",
                                 "openapi": "/openapi.json", "health": "/healthz", "metrics": "/metrics"}
    assert resp.headers["Vary"] == "Accept"
    assert fake.received == []
    await flushed(proxy)
    assert stored_ids(db_path) == []


async def test_the_favicon_is_served_not_forwarded_nor_logged(proxy, fake, db_path):
    resp = await proxy.get("/favicon.ico")
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/x-icon"
    icon = await resp.read()
    assert icon[:4] == b"\0\0\1\0" and icon[22:30] == b"\x89PNG\r\n\x1a\n"  # an ICO holding one PNG
    assert "x-llmlog-id" not in resp.headers
    assert fake.received == []
    await flushed(proxy)
    assert stored_ids(db_path) == []


@pytest.mark.parametrize("headers,query", [
    (AUTH, ""), ({"x-api-key": KEY}, ""), ({"api-key": KEY}, ""), ({"Authorization": f"Bearer\t{KEY}"}, ""),
    ({"x-goog-api-key": KEY}, ""), ({"anthropic-api-key": KEY}, ""), ({"Cookie": f"key={KEY}"}, ""),
    ({}, f"key={KEY}"), ({}, f"api_key={KEY}"), ({}, f"access_token={KEY}"),
    ({}, "key=" + "".join(f"%{ord(c):02X}" for c in KEY)),
])
async def test_the_admin_key_is_never_forwarded_to_a_provider(keyed, fake, headers, query):
    target = f"{CHAT}?{query}" if query else CHAT
    status, answer = await raw_request(keyed, f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                                       f"{len(chat_body())}\r\n".encode()
                                       + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode(), chat_body())
    assert status == 403, answer
    assert b"logs API key" in answer and b"permission_error" in answer
    assert fake.received == []


async def test_any_other_key_is_the_clients_business(keyed, fake):
    resp = await keyed.post(CHAT, data=chat_body(), headers={"Authorization": "Bearer sk-the-users-own-key"})
    assert resp.status == 200  # any other key is the client's business


@pytest.mark.parametrize("target", [b"/v1/logs#/../chat/completions", b"/ui#/../v1/chat/completions",
                                    b"/v1/chat/completions#x/../../y"])
async def test_a_fragment_in_the_target_is_refused_not_forwarded(proxy, fake, db_path, target):
    status, answer = await raw_request(proxy, b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       b"Content-Length: 2", b"{}")
    assert status in (400, 405), answer  # 405: aiohttp itself routed `/v1/logs#...` to /v1/logs
    assert fake.received == []
    await flushed(proxy)
    assert stored_ids(db_path) == []


@pytest.mark.parametrize("target", [b"/v1/logs/../../v1/logs/x/y", b"/v1/%6cogs/x/y", b"//v1/logs/x/y"])
async def test_odd_spellings_of_a_logs_path_stay_local(keyed, fake, target):
    status, _ = await raw_request(keyed, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Authorization: Bearer " + KEY.encode())
    assert status == 404
    assert fake.received == []
