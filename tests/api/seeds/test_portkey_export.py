"""Portkey's logs export (seeds/004) against llmlog: the document's own calls (its cURL bodies and
paths, its SDK's create → start → retrieve → download → fetch the URL), over calls made through the
proxy, give back exactly the rows, ids, tokens and costs in cents that were logged."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aiohttp
import orjson
import pytest
from yarl import URL

from llmlog.proxy.access.signed_urls import UrlSigner
from tests.conftest import CHAT, age_call, chat_body, flushed

pytestmark = pytest.mark.backends

KEY = "pk-logs-key-0123456789"
PORTKEY = {"x-portkey-api-key": KEY}  # how the document's curl calls and Portkey's SDKs send the key

# the document's cURL body of Step 1, as written
DOC_BODY = {
    "filters": {"created_at": {"gte": "2024-01-01T00:00:00Z", "lte": "2024-01-31T23:59:59Z"}},
    "requested_data": ["id", "trace_id", "created_at", "request", "response", "ai_provider", "ai_model",
                       "request_tokens", "response_tokens", "total_tokens", "cost", "response_time", "status_code"],
}
# every field of the document's "Available Export Fields" table
EVERY_FIELD = ["id", "trace_id", "created_at", "request", "response", "ai_provider", "ai_model", "request_tokens",
               "response_tokens", "total_tokens", "cost", "cost_currency", "response_time", "status_code", "config",
               "prompt_slug", "metadata"]

# when each call is moved to: the document's window is 2024-01-01T00:00:00Z ≤ t ≤ 2024-01-31T23:59:59Z
CALLS = [  # (name, started at, prompt, model)
    ("before", "2023-12-31T23:59:59.999Z", "one ms too early", "gpt-4o-mini"),
    ("first", "2024-01-01T00:00:00.000Z", "the very first millisecond", "gpt-4o-mini"),
    ("middle", "2024-01-15T12:00:00.000Z", "mid month", "gpt-4o-mini"),
    ("failed", "2024-01-20T08:30:00.000Z", "a model that does not exist", "bad-model"),
    ("last", "2024-01-31T23:59:59.000Z", "the last second named", "gpt-4o-mini"),
    ("after", "2024-01-31T23:59:59.001Z", "one ms too late", "gpt-4o-mini"),
]
INSIDE = ["first", "middle", "failed", "last"]  # oldest first, as an export writes them


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


async def _log_calls(client, db_path: str) -> dict[str, dict]:
    """Each call through the proxy, with a trace id and metadata (llmlog's control headers: Portkey's
    own are not read yet), moved to its time; returns name -> what was sent and what llmlog logged."""
    made = {}
    for name, when, prompt, model in CALLS:
        body = chat_body(prompt, model=model)
        resp = await client.post(CHAT, data=body, headers={
            "Content-Type": "application/json", "Authorization": "Bearer sk-test",
            "x-llmlog-trace-id": f"trace-{name}", "x-llmlog-metadata": orjson.dumps({"call": name}).decode()})
        made[name] = {"id": resp.headers["x-llmlog-id"], "sent": orjson.loads(body), "status": resp.status,
                      "answer": await resp.json(), "at": when, "prompt": prompt}
    await flushed(client)
    for call in made.values():
        entry = await (await client.get(f"/v1/logs/{call['id']}", headers=PORTKEY)).json()
        age_call(db_path, call["id"], _ms(entry["started_at"]) - _ms(call["at"]))
    for call in made.values():
        call["entry"] = await (await client.get(f"/v1/logs/{call['id']}", headers=PORTKEY)).json()
        assert call["entry"]["started_at"] == call["at"]
    return made


def _cents(call: dict) -> float | None:
    """gpt-4o-mini: $0.15 and $0.60 a million tokens, 150 and 600 nano-dollars a token; a cent is
    10^7 nano-dollars. The fake upstream answers `Echo: <prompt>`: 9 + words in, 1 + words out."""
    if call["status"] != 200:
        return None
    words = len(call["prompt"].split())
    return ((9 + words) * 150 + (1 + words) * 600) / 10_000_000


def _doc_record(call: dict) -> dict:
    """The line the document's Step 1 body asks for, from what was sent and answered."""
    words = len(call["prompt"].split())
    ok = call["status"] == 200
    return {
        "id": call["id"], "trace_id": f"trace-{call['entry']['metadata']['custom']['call']}", "created_at": call["at"],
        "request": call["sent"], "response": call["answer"], "ai_provider": "openai",
        "ai_model": call["sent"]["model"], "request_tokens": 9 + words if ok else 0,  # an error: no tokens
        "response_tokens": 1 + words if ok else 0, "total_tokens": 10 + 2 * words if ok else 0,
        "cost": _cents(call), "response_time": call["entry"]["duration_ms"], "status_code": call["status"],
    }


async def _export(client, body: dict, headers=PORTKEY) -> tuple[dict, bytes]:
    """The document's workflow: create, start, poll until success, download the URL, fetch it bare."""
    created = await client.post("/v1/logs/exports", json=body, headers=headers)
    assert created.status == 201, await created.text()
    export = await created.json()
    assert export["status"] == "draft"
    started = await client.post(f"/v1/logs/exports/{export['id']}/start", headers=headers)
    assert started.status == 202
    for _ in range(500):
        status = await (await client.get(f"/v1/logs/exports/{export['id']}", headers=headers)).json()
        if status["status"] == "success":
            break
        assert status["status"] != "failure", status["error"]
        await asyncio.sleep(0.02)
    download = await client.get(f"/v1/logs/exports/{export['id']}/download", headers=headers)
    assert download.status == 200
    url = (await download.json())["url"]
    async with aiohttp.ClientSession() as bare, bare.get(url) as resp:  # requests.get(download_url)
        assert resp.status == 200, await resp.text()
        return status, await resp.read()


def _lines(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in data.splitlines()]


async def test_the_documents_curl_body_exports_exactly_the_calls_in_its_window(make_proxy, db_path):
    client = await make_proxy(logs_api__api_keys=[KEY])
    calls = await _log_calls(client, db_path)
    assert calls["failed"]["status"] == 400
    status, data = await _export(client, DOC_BODY)
    records = _lines(data)
    # gte and lte both inclusive, to the millisecond: 23:59:59Z is in, 23:59:59.001Z is not
    assert [r["id"] for r in records] == [calls[name]["id"] for name in INSIDE]
    assert records == [_doc_record(calls[name]) for name in INSIDE]
    assert [list(r) for r in records] == [DOC_BODY["requested_data"]] * len(INSIDE)  # the asked order
    assert records[0]["cost"] == (13 * 150 + 5 * 600) / 10_000_000  # 4 words: 13 tokens in, 5 out
    assert status["rows"] == 4 and status["error"] is None
    assert status["requested_data"] == DOC_BODY["requested_data"]
    assert status["workspace_id"] is None and status["limit"] is None and status["offset"] == 0


async def test_the_python_complete_example_and_every_documented_field(make_proxy, db_path):
    client = await make_proxy(logs_api__api_keys=[KEY])
    calls = await _log_calls(client, db_path)
    body = {"filters": DOC_BODY["filters"], "requested_data": ["id", "created_at", "ai_model", "total_tokens", "cost"]}
    _, data = await _export(client, body)
    middle = calls["middle"]
    assert _lines(data)[1] == {"id": middle["id"], "created_at": "2024-01-15T12:00:00.000Z",
                               "ai_model": "gpt-4o-mini", "total_tokens": 10 + 2 * 2, "cost": _cents(middle)}
    assert _cents(middle) == (11 * 150 + 3 * 600) / 10_000_000  # 0.000345 cents: $0.00000345

    every = {**DOC_BODY, "requested_data": EVERY_FIELD, "workspace_id": "YOUR_WORKSPACE_ID",
             "description": "January"}
    status, data = await _export(client, every)
    assert status["workspace_id"] == "YOUR_WORKSPACE_ID" and status["description"] == "January"
    for record, name in zip(_lines(data), INSIDE, strict=True):
        call = calls[name]
        assert list(record) == EVERY_FIELD
        assert record == {**_doc_record(call), "cost_currency": "USD", "config": None, "prompt_slug": None,
                          "metadata": {"call": name}}


async def test_limit_and_offset_pick_rows_oldest_first(make_proxy, db_path):
    client = await make_proxy(logs_api__api_keys=[KEY])
    calls = await _log_calls(client, db_path)
    ids = [calls[name]["id"] for name in INSIDE]
    for window, expected in (({"limit": 2}, ids[:2]), ({"offset": 1, "limit": 2}, ids[1:3]),
                             ({"offset": 3}, ids[3:]), ({"offset": 4}, []), ({"offset": 2, "limit": 50_000}, ids[2:])):
        status, data = await _export(client, {**DOC_BODY, "requested_data": ["id"], **window})
        assert [r["id"] for r in _lines(data)] == expected, window
        assert status["rows"] == len(expected)
        assert (status["limit"], status["offset"]) == (window.get("limit"), window.get("offset", 0))


async def test_the_download_url_works_without_the_key_and_never_shows_it(make_proxy, db_path):
    client = await make_proxy(logs_api__api_keys=[KEY])
    await _log_calls(client, db_path)
    _, data = await _export(client, {**DOC_BODY, "requested_data": ["id", "cost"]})
    exports = await (await client.get("/v1/logs/exports", headers=PORTKEY)).json()
    assert exports["object"] == "list" and exports["total"] == 1
    export_id = exports["data"][0]["id"]
    answer = await (await client.get(f"/v1/logs/exports/{export_id}/download", headers=PORTKEY)).json()
    url = URL(answer["url"])
    assert answer["signed_url"] == answer["url"] and KEY not in answer["url"]
    assert url.path == f"/v1/logs/exports/{export_id}/file" and set(url.query) == {"expires", "signature"}
    assert answer["expires_at"] is not None
    async with aiohttp.ClientSession() as bare:
        async def fetch(target: URL, headers=None) -> tuple[int, bytes]:
            async with bare.get(target, headers=headers) as resp:
                return resp.status, await resp.read()

        assert await fetch(url) == (200, data)
        # a link on another web page opens it too (the signature is the credential), but only a signed one
        assert await fetch(url, {"Origin": "https://wiki.example", "Sec-Fetch-Site": "cross-site"}) == (200, data)
        assert (await fetch(url.update_query(signature="0" * 64), {"Origin": "https://wiki.example"}))[0] == 403
        forged = url.update_query(signature="0" * 64)
        assert (await fetch(forged))[0] == 401
        assert (await fetch(url.with_query(None)))[0] == 401  # no signature, no key
        assert await fetch(url.with_query(None), PORTKEY) == (200, data)  # llmlog's own download, with the key
        assert await fetch(url.with_query(None), {"Authorization": f"Bearer {KEY}"}) == (200, data)
        elsewhere = url.with_path(f"/v1/logs/exports/{export_id}/download")  # the signature opens the file only
        assert (await fetch(elsewhere))[0] == 401
        other = url.with_path("/v1/logs/exports/SOMEOTHERJOB/file")  # …and only this job's
        assert (await fetch(other))[0] == 401
        expired = url.with_query(UrlSigner([KEY]).query(export_id, now_s=0))  # expired in 1970
        assert (await fetch(expired))[0] == 401
        wrong_key = url.with_query(UrlSigner(["another-key"]).query(export_id, now_s=2**31))
        assert (await fetch(wrong_key))[0] == 401
        for expires in ("\u00b2", "\u2460", "9" * 13, "-1", "+" + url.query["expires"]):  # no expiry it signed
            assert (await fetch(url.update_query(expires=expires)))[0] == 401, expires


async def test_without_a_key_the_url_is_the_plain_file_url(make_proxy, db_path):
    client = await make_proxy()
    calls = await _log_calls(client, db_path)
    _, data = await _export(client, {**DOC_BODY, "requested_data": ["id"]}, headers={})
    assert [r["id"] for r in _lines(data)] == [calls[name]["id"] for name in INSIDE]
    export_id = (await (await client.get("/v1/logs/exports")).json())["data"][0]["id"]
    answer = await (await client.get(f"/v1/logs/exports/{export_id}/download")).json()
    assert URL(answer["url"]).path_qs == f"/v1/logs/exports/{export_id}/file" and answer["expires_at"] is None


async def test_the_logs_key_guards_every_export_route(make_proxy):
    client = await make_proxy(logs_api__api_keys=[KEY])
    for method, path in (("POST", "/v1/logs/exports"), ("GET", "/v1/logs/exports"), ("GET", "/v1/logs/exports/x"),
                         ("POST", "/v1/logs/exports/x/start"), ("GET", "/v1/logs/exports/x/download"),
                         ("GET", "/v1/logs/exports/x/file")):
        for headers in ({}, {"x-portkey-api-key": "wrong"}):
            resp = await client.request(method, path, json=DOC_BODY, headers=headers)
            assert resp.status == 401, (method, path, headers)
    assert (await client.post("/v1/logs/exports", json=DOC_BODY, headers=PORTKEY)).status == 201


@pytest.mark.parametrize("change, param", [
    ({"bogus": 1}, "bogus"),
    ({"limit": 0}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"limit": 2.5}, "limit"),
    ({"offset": -1}, "offset"),
    ({"offset": True}, "offset"),
    ({"workspace_id": 7}, "workspace_id"),
    ({"description": ["x"]}, "description"),
    ({"requested_data": ["id", "cost_in_euros"]}, "requested_data"),
    ({"requested_data": ["id", 1]}, "requested_data"),
    ({"filters": {"created_at": {"gte": "2024-13-01T00:00:00Z"}}}, "filters.created_at.gte"),
    ({"filters": {"created_at": {"eq": "2024-01-01T00:00:00Z"}}}, "filters.created_at.eq"),
    ({"filters": {"ai_model": "gpt-4o"}}, "filters.ai_model"),
    ({"filters": []}, "filters"),
])
async def test_a_bad_body_is_a_400_naming_the_key(make_proxy, change, param):
    client = await make_proxy(logs_api__api_keys=[KEY])
    resp = await client.post("/v1/logs/exports", json={**DOC_BODY, **change}, headers=PORTKEY)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"


async def test_paths_under_the_exports_are_answered_locally(make_proxy, fake):
    client = await make_proxy(logs_api__api_keys=[KEY])
    assert (await client.post("/v1/logs/exports/x/file", headers=PORTKEY)).status == 405
    assert (await client.post("/v1/logs/exports/x/cancel", headers=PORTKEY)).status == 404
    assert (await client.get("/v1/logs/exports/x/file/more", headers=PORTKEY)).status == 404
    assert fake.received == []  # none of them reached the provider


@pytest.mark.parametrize("trusted, scheme", [((), "http"), (("127.0.0.1",), "https")])
async def test_x_forwarded_proto_shapes_the_url_only_from_a_trusted_proxy(make_proxy, db_path, trusted, scheme):
    # anyone could send the header: only a proxy named in server.trusted_proxies says how the client came in
    client = await make_proxy(server__trusted_proxies=list(trusted))
    await _log_calls(client, db_path)
    await _export(client, {**DOC_BODY, "requested_data": ["id"]}, headers={})
    export_id = (await (await client.get("/v1/logs/exports")).json())["data"][0]["id"]
    answer = await (await client.get(f"/v1/logs/exports/{export_id}/download",
                                     headers={"X-Forwarded-Proto": "https"})).json()
    assert URL(answer["url"]).scheme == scheme
