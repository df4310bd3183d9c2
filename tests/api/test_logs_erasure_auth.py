"""Per-user erasure that really erases, do-not-track kept out of search, and logs API auth."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.proxy.app import Seams
from tests.conftest import chat_body, database_bytes, flushed
from tests.fakes.faulty_store import opener

CHAT = "/v1/chat/completions"


def packed_rows(db_path: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT count(*) FROM call_content WHERE body_encoding IS NOT NULL").fetchone()[0]
    finally:
        conn.close()


# Bodies of 1 KB and more are stored zlib-packed (m004), where a grep of the files cannot see them:
# "raw" stores every body as sent, so the grep below also proves the bodies' old copies are gone.
@pytest.mark.backends
@pytest.mark.parametrize("bodies", ["raw", "packed"])
async def test_delete_user_leaves_no_content_of_theirs_in_the_database_files(make_proxy, db_path, backend, bodies):
    raw_bodies = Seams(open_store=opener(db_path, compress_from_bytes=1 << 40))  # no body is large enough to pack
    proxy = await make_proxy(seams=raw_bodies if bodies == "raw" else None)
    x_marker, y_marker = "Xylophone4Quokka", "Yodel8Walrus"
    for i in range(30):  # enough rows to span pages, FTS segments and WAL frames
        for user, marker in (("user-x", x_marker), ("user-y", y_marker)):
            stream = i % 2 == 1
            resp = await proxy.post(CHAT, data=chat_body(f"about {marker}{i} and {marker}", stream=stream),
                                    headers={"x-llmlog-user": user, "x-llmlog-tags": "t1"})
            assert resp.status == 200
            await resp.read()
    await flushed(proxy)
    if backend == "sqlite":  # the files on disk (PostgreSQL's are the server's): the API checks below run on both
        raw = database_bytes(db_path)
        for marker in (x_marker, y_marker):  # the search index keeps its terms lower-cased
            assert marker.encode() in raw and marker.lower().encode() in raw
        sse_of_x = f'"delta":{{"content":" {x_marker}'.encode()  # only ever in a streamed response body
        assert (sse_of_x in raw) == (bodies == "raw")
        assert packed_rows(db_path) == (0 if bodies == "raw" else 30)  # the streamed calls' bodies reach 1 KB
    found = await (await proxy.get("/v1/logs", params={"q": x_marker})).json()
    assert found["total"] == 30

    resp = await proxy.delete("/v1/logs/user/user-x")
    assert resp.status == 200
    assert await resp.json() == {"user_id": "user-x", "deleted": 30}

    if backend == "sqlite":
        raw = database_bytes(db_path)
        # prompt and output text, raw SSE, search index terms, old WAL frames: all gone
        assert x_marker.encode() not in raw and x_marker.lower().encode() not in raw
        assert packed_rows(db_path) == (0 if bodies == "raw" else 15)  # user-y's packed rows are the rest
        assert y_marker.encode() in raw and y_marker.lower().encode() in raw
    assert (await (await proxy.get("/v1/logs", params={"user_id": "user-x"})).json())["total"] == 0
    assert (await (await proxy.get("/v1/logs", params={"q": x_marker})).json())["total"] == 0
    assert (await (await proxy.get("/v1/logs", params={"q": y_marker})).json())["total"] == 30
    assert (await (await proxy.get("/v1/logs", params={"tags": "t1"})).json())["total"] == 30
    again = await (await proxy.delete("/v1/logs/user/user-x")).json()
    assert again == {"user_id": "user-x", "deleted": 0}


@pytest.mark.backends
async def test_do_not_track_call_is_not_found_by_search(proxy):
    resp = await proxy.post(CHAT, data=chat_body("hidden pangolin words"), headers={"x-debug": "false"})
    assert resp.status == 200
    tracked = await proxy.post(CHAT, data=chat_body("visible pangolin words"))
    await flushed(proxy)
    for q in ("hidden", "pangolin", "hidden pangolin"):
        body = await (await proxy.get("/v1/logs", params={"q": q})).json()
        assert resp.headers["x-llmlog-id"] not in [e["id"] for e in body["logs"]]
    body = await (await proxy.get("/v1/logs", params={"q": "pangolin"})).json()
    assert [e["id"] for e in body["logs"]] == [tracked.headers["x-llmlog-id"]]


KEY = "admin-key-0123456789"


@pytest.fixture
async def guarded(make_proxy):
    return await make_proxy(logs_api__api_keys=[KEY, "second-key"])


@pytest.mark.parametrize("headers,why", [
    ({}, "missing"),
    ({"Authorization": f"Basic {KEY}"}, "scheme"),
    ({"Authorization": "Bearer"}, "empty"),
    ({"Authorization": "Bearer wrong-key"}, "wrong"),
    ({"Authorization": f"Bearer {KEY}x"}, "longer"),
])
@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/logs"), ("GET", "/v1/logs/SOMEID"), ("GET", "/v1/logs/SOMEID/hierarchy"),
    ("GET", "/v1/logs/SOMEID/events"), ("POST", "/v1/logs/SOMEID/feedback"),
    ("DELETE", "/v1/logs/user/u1"), ("GET", "/openapi.json"), ("PUT", "/v1/logs/anything"),
])
async def test_logs_api_refuses_without_the_right_bearer_key(guarded, fake, headers, why, method, path):
    resp = await guarded.request(method, path, headers=headers)
    assert resp.status == 401, why
    body = await resp.json()
    assert body["error"]["type"] == "authentication_error"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert fake.received == []  # never forwarded upstream either


async def test_logs_api_with_a_key_and_proxied_calls_without_one(guarded, fake):
    resp = await guarded.post(CHAT, data=chat_body("no admin key needed here"))
    assert resp.status == 200  # proxied calls are not the logs API
    await flushed(guarded)
    for key in (KEY, "second-key"):
        resp = await guarded.get("/v1/logs", headers={"Authorization": f"bearer {key}"})
        assert resp.status == 200
        assert (await resp.json())["total"] == 1
    resp = await guarded.get("/healthz")
    assert resp.status == 200


async def test_admin_key_from_environment(make_proxy, monkeypatch):
    monkeypatch.setenv("LLMLOG_ADMIN_KEY", "env-key-42")
    from llmlog.proxy.settings import load_config
    config = load_config(None, overrides={"store.path": "unused.db"})
    assert config.logs_api.api_keys == ("env-key-42",)
    client = await make_proxy(logs_api__api_keys=config.logs_api.api_keys)
    assert (await client.get("/v1/logs")).status == 401
    assert (await client.get("/v1/logs", headers={"Authorization": "Bearer env-key-42"})).status == 200


def test_serve_refuses_a_non_loopback_host_without_a_key(tmp_path):
    result = CliRunner().invoke(cli.main, ["serve", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0" in result.output and "--insecure" in result.output
    assert not (tmp_path / "x.db").exists()
