"""The Perf logs API (shared/seeds/000): its example requests, as written, against calls made
through the proxy with known words, tokens and prices; the client's address and agent; the
logs API's rate limit; and the export formats the document's tiers name (JSON, CSV, Parquet).

Known figures: the fake upstream answers a prompt of n words with 9 + n prompt tokens and
n + 1 completion tokens. gpt-4o-mini costs $0.15 / $0.60 and gpt-4o $2.50 / $10 per million
tokens in / out, so each call's cost below is exact in nano-dollars.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import sys

import orjson
import pyarrow.parquet as pq
import pytest

from llmlog.proxy.app import Seams
from tests.conftest import CHAT, flushed
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

LOGS_KEY = "pk_live_abc123"  # the document's own example key, as the logs API key
AUTH = {"Authorization": f"Bearer {LOGS_KEY}"}
PROVIDER_KEY = "sk-perf-test-provider-key"
EXTRACTION = "Extract name, email, phone from: John Doe"  # 7 words: 16 tokens in, 8 out
JSON_ANSWER = '{"name":"John Doe","email":"john@example.com","phone":"555-1234"}'  # the document's (65 chars)
SYSTEM = "Answer in JSON."
INVOICE = "Extract the invoice total"  # 4 words: 13 in, 5 out
TICKET = "Classify this ticket"  # 3 words: 12 in, 4 out
RATIO_2_3 = 0.6667  # two calls of three, as the summary rounds shares (4 digits)


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def _call(client, model: str, prompt: str, *, task_type: str, system: str | None = None,
                headers: dict | None = None) -> str:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    resp = await client.post(CHAT, data=orjson.dumps({"model": model, "messages": messages}), headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {PROVIDER_KEY}",
        "x-llmlog-task-type": task_type, "User-Agent": "perf-client/1.0", **(headers or {})})
    assert resp.status == 200, await resp.text()
    await resp.read()
    await asyncio.sleep(0.002)  # the next call starts in a later millisecond: time orders are then exact
    return resp.headers["x-llmlog-id"]


@pytest.fixture
async def perf(make_proxy, fake):
    """Three calls through the proxy: two extractions (gpt-4o-mini answering JSON, then gpt-4o)
    and a classification; the logs API behind the document's example key."""
    fake.replies[EXTRACTION] = JSON_ANSWER
    client = await make_proxy(logs_api__api_keys=[LOGS_KEY])
    client.ids = {
        "a": await _call(client, "gpt-4o-mini", EXTRACTION, task_type="extraction", system=SYSTEM, headers={
            "x-llmlog-user": "user_789", "x-llmlog-session": "sess_xyz",
            "x-llmlog-metadata": '{"feature": "contact_extraction", "version": "v2"}'}),
        "b": await _call(client, "gpt-4o", INVOICE, task_type="extraction"),
        "c": await _call(client, "gpt-4o-mini", TICKET, task_type="classification"),
    }
    await flushed(client)
    return client


async def test_list_example_extraction_by_cost_desc(perf):
    """`GET /v1/logs?limit=10&task_type=extraction&sort_by=cost&sort_order=desc`, as the document sends it."""
    resp = await perf.get("/v1/logs?limit=10&task_type=extraction&sort_by=cost&sort_order=desc", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 10, 0)
    assert [log["call_id"] for log in body["logs"]] == [perf.ids["b"], perf.ids["a"]]
    assert body["pagination"]["has_more"] is False and body["pagination"]["next_offset"] is None
    b, a = body["logs"]
    assert b["execution"] | {"started_at": None, "completed_at": None, "latency_ms": None} == {
        "latency_ms": None, "input_tokens": 13, "output_tokens": 5, "total_tokens": 18, "cost_usd": 82_500 / 1e9,
        "started_at": None, "completed_at": None}
    assert a["execution"]["cost_usd"] == 7_200 / 1e9 and a["execution"]["total_tokens"] == 24
    assert a["timestamp"] == a["execution"]["started_at"] and a["execution"]["latency_ms"] > 0
    assert a["routing"] == {"model_selected": "gpt-4o-mini", "provider": "openai"}
    whole_prompt = f"{SYSTEM}\n{EXTRACTION}"
    assert a["prompt"] == {"text": whole_prompt, "hash": _hash12(whole_prompt), "length": len(whole_prompt),
                           "message_count": 2, "truncated": False}
    assert a["output"] == {"text": JSON_ANSWER, "length": len(JSON_ANSWER), "truncated": False,
                           "parsed_json": {"name": "John Doe", "email": "john@example.com", "phone": "555-1234"}}
    assert b["output"] == {"text": "Echo: Extract the invoice total", "length": 31, "truncated": False,
                           "parsed_json": None}  # not JSON: null
    assert a["metadata"] == {
        "user_id": "user_789", "session_id": "sess_xyz",
        "api_key_hash": hashlib.sha256(PROVIDER_KEY.encode()).hexdigest(),
        "request_ip": "127.0.0.1", "user_agent": "perf-client/1.0",
        "custom": {"feature": "contact_extraction", "version": "v2"}}
    assert b["metadata"]["custom"] is None and b["metadata"]["user_id"] is None


async def test_list_previews_are_bounded_but_measure_the_whole_text(perf, fake):
    long_prompt = " ".join(["word"] * 150)  # 749 characters
    fake.replies[long_prompt] = "[" + ", ".join(["1"] * 150) + "]"  # JSON, but longer than a preview
    call_id = await _call(perf, "gpt-4o-mini", long_prompt, task_type="long")
    await flushed(perf)
    listed = (await (await perf.get("/v1/logs?task_type=long", headers=AUTH)).json())["logs"][0]
    whole = await (await perf.get(f"/v1/logs/{call_id}", headers=AUTH)).json()
    assert listed["prompt"] == {"text": long_prompt[:200], "truncated": True, "length": 749,
                                "hash": _hash12(long_prompt), "message_count": 1}
    assert whole["prompt"]["text"] == long_prompt and whole["prompt"]["hash"] == _hash12(long_prompt)
    answer = fake.replies[long_prompt]
    assert listed["output"] == {"text": answer[:200], "truncated": True, "length": len(answer), "parsed_json": None}
    assert whole["output"]["parsed_json"] == [1] * 150 and whole["output"]["length"] == len(answer)


async def test_summary_example(perf):
    """`GET /v1/logs/summary` with no parameters: the last 7 days."""
    resp = await perf.get("/v1/logs/summary", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["period"]["days"] == 7
    summary = body["summary"]
    assert (summary["total_calls"], summary["successful_calls"], summary["failed_calls"]) == (3, 3, 0)
    assert summary["success_rate"] == 1.0
    assert summary["total_cost_usd"] == (7_200 + 82_500 + 4_200) / 1e9
    assert summary["avg_cost_per_call"] == round(93_900 / 3 / 1e9, 9)
    assert summary["total_tokens"] == 24 + 18 + 16
    assert {model: (v["calls"], v["total_cost_usd"]) for model, v in body["by_model"].items()} == {
        "gpt-4o-mini": (2, 11_400 / 1e9), "gpt-4o": (1, 82_500 / 1e9)}
    assert body["by_model"]["gpt-4o-mini"]["percentage"] == RATIO_2_3
    assert body["by_task_type"] == {"extraction": 2, "classification": 1}


async def test_get_by_id_example(perf):
    """`GET /v1/logs/:call_id`: the whole call, its prompt's message count and its output parsed."""
    resp = await perf.get(f"/v1/logs/{perf.ids['a']}", headers=AUTH)
    assert resp.status == 200
    log = await resp.json()
    whole_prompt = f"{SYSTEM}\n{EXTRACTION}"
    assert log["call_id"] == perf.ids["a"]
    assert log["prompt"] == {"text": whole_prompt, "hash": _hash12(whole_prompt), "length": len(whole_prompt),
                             "message_count": 2, "truncated": False}
    assert log["output"] == {"text": JSON_ANSWER, "length": len(JSON_ANSWER), "hash": _hash12(JSON_ANSWER),
                             "truncated": False, "parsed_json": orjson.loads(JSON_ANSWER)}
    assert log["metadata"]["request_ip"] == "127.0.0.1" and log["metadata"]["user_agent"] == "perf-client/1.0"
    assert log["execution"]["input_tokens"] == 16 and log["execution"]["output_tokens"] == 8
    assert (await perf.get("/v1/logs/call_abc123xyz", headers=AUTH)).status == 404


async def test_the_logs_key_guards_every_example(perf, fake):
    sent = len(fake.received)
    for path in ("/v1/logs?limit=10&task_type=extraction&sort_by=cost&sort_order=desc", "/v1/logs/summary",
                 f"/v1/logs/{perf.ids['a']}", "/v1/logs/export?format=json"):
        assert (await perf.get(path)).status == 401
        assert (await perf.get(path, headers={"Authorization": "Bearer pk_live_wrong"})).status == 401
    resp = await perf.delete("/v1/logs/summary", headers=AUTH)  # a path of the API, another method: local 405
    assert resp.status == 405
    assert len(fake.received) == sent  # nothing under /v1/logs reached the provider


# -- who made the call -------------------------------------------------------------------------------

async def _client_of(client, headers: dict) -> dict:
    call_id = await _call(client, "gpt-4o-mini", "hello there", task_type="who", headers=headers)
    await flushed(client)
    return (await (await client.get(f"/v1/logs/{call_id}")).json())["metadata"]


async def test_a_spoofed_forwarded_for_is_ignored_without_trusted_proxies(make_proxy):
    client = await make_proxy()
    metadata = await _client_of(client, {"X-Forwarded-For": "203.0.113.42", "User-Agent": "curl/8.5.0"})
    assert (metadata["request_ip"], metadata["user_agent"]) == ("127.0.0.1", "curl/8.5.0")


async def test_forwarded_for_is_believed_from_a_trusted_proxy_only_as_far_as_it_is_trusted(make_proxy):
    client = await make_proxy(server__trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    # the nearest untrusted hop is the client; what it claims beyond itself (198.51.100.7) is not believed
    metadata = await _client_of(client, {"X-Forwarded-For": "198.51.100.7, 203.0.113.42, 10.1.2.3"})
    assert metadata["request_ip"] == "203.0.113.42"
    assert (await _client_of(client, {}))["request_ip"] == "127.0.0.1"  # no header: the trusted peer itself


async def test_do_not_track_keeps_no_address_or_agent(make_proxy):
    client = await make_proxy()
    metadata = await _client_of(client, {"x-debug": "false", "User-Agent": "secret-agent/1"})
    assert (metadata["request_ip"], metadata["user_agent"]) == (None, None)



async def test_json_nested_too_deep_to_write_back_is_shown_as_its_text(make_proxy, fake):
    # a body or an output that parses but nests past what JSON can be written back at (orjson:
    # 254 levels) made the call's entry, its AgentRouter form and every export quoting it a 500
    deep = "[" * 300 + "]" * 300
    fake.replies["answer deeply"] = deep
    client = await make_proxy(logs_api__api_keys=[LOGS_KEY])
    body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "answer deeply"}], "metadata": ' \
        + deep.encode() + b"}"
    resp = await client.post(CHAT, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200
    call_id = resp.headers["x-llmlog-id"]
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{call_id}", headers=AUTH)).json()
    assert entry["output"]["text"] == deep and entry["output"]["parsed_json"] is None
    assert entry["request"]["body"] == body.decode()
    assert (await client.get(f"/v1/request-logs/{call_id}", headers=AUTH)).status == 200
    resp = await client.get("/v1/logs/export?format=jsonl&fields=id,request_body,output_text", headers=AUTH)
    assert resp.status == 200
    [record] = [orjson.loads(line) for line in (await resp.read()).splitlines()]
    assert record == {"id": call_id, "request_body": body.decode(), "output_text": deep}
    shallow = "[" * 100 + "]" * 100  # within the bound: still parsed
    fake.replies["answer shallowly"] = shallow
    call_id = await _call(client, "gpt-4o-mini", "answer shallowly", task_type="x")
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{call_id}", headers=AUTH)).json()
    assert entry["output"]["parsed_json"] == orjson.loads(shallow)


@pytest.mark.sqlite_only
async def test_a_bad_trusted_proxy_stops_the_start(make_proxy):
    from llmlog.proxy.errors import ConfigError
    with pytest.raises(ConfigError, match="server.trusted_proxies: 'proxy.internal' is not an IP address"):
        await make_proxy(server__trusted_proxies=["proxy.internal"])


# -- rate limit ----------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.sqlite_only
async def test_rate_limit_answers_429_with_retry_after_and_refills(make_proxy, fake):
    clock = Clock()
    client = await make_proxy(seams=Seams(rate_clock=clock), logs_api__requests_per_minute=3,
                              logs_api__api_keys=[LOGS_KEY, "pk_live_other"])
    for _ in range(3):
        assert (await client.get("/v1/logs/summary", headers=AUTH)).status == 200
    resp = await client.get("/v1/logs?limit=10", headers=AUTH)
    assert resp.status == 429 and resp.headers["Retry-After"] == "20"  # 3 a minute: one every 20 s
    error = (await resp.json())["error"]
    assert error["type"] == "rate_limit_error" and "logs_api.requests_per_minute = 3" in error["message"]
    # every local path of the logs API spends the same budget; another key has its own
    assert (await client.get("/v1/request-logs", headers=AUTH)).status == 429
    assert (await client.get("/openapi.json", headers=AUTH)).status == 429
    assert (await client.get("/v1/logs", headers={"Authorization": "Bearer pk_live_other"})).status == 200
    # proxied calls are never limited
    assert await _call(client, "gpt-4o-mini", "still served", task_type="x")
    clock.now += 19
    assert (await client.get("/v1/logs", headers=AUTH)).headers["Retry-After"] == "1"
    clock.now += 1
    assert (await client.get("/v1/logs", headers=AUTH)).status == 200
    clock.now += 60  # a whole window: the whole budget again
    assert [(await client.get("/v1/logs", headers=AUTH)).status for _ in range(4)] == [200, 200, 200, 429]


@pytest.mark.sqlite_only
async def test_without_keys_each_client_address_has_its_budget(make_proxy):
    clock = Clock()
    client = await make_proxy(seams=Seams(rate_clock=clock), logs_api__requests_per_minute=1,
                              server__trusted_proxies=["127.0.0.1"])
    one, two = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    assert (await client.get("/v1/logs", headers=one)).status == 200
    assert (await client.get("/v1/logs", headers=one)).status == 429
    assert (await client.get("/v1/logs", headers=two)).status == 200


@pytest.mark.sqlite_only
async def test_max_limit_caps_every_page_size_parameter(make_proxy):
    client = await make_proxy(logs_api__max_limit=100)
    assert (await client.get("/v1/logs?limit=100")).status == 200
    for name in ("limit", "page_size"):
        resp = await client.get(f"/v1/logs?{name}=101")
        body = await resp.json()
        assert resp.status == 400 and body["error"]["param"] == name
        assert "logs_api.max_limit" in body["error"]["message"]



@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", ["+101", " 101", "101 ", "1_01", "\u0661\u0660\u0661"])
async def test_max_limit_caps_every_spelling_of_a_number_the_handlers_read(make_proxy, value):
    # the list reads `+101`, ` 101`, `1_01` and Arabic-Indic digits as 101: the cap must too
    client = await make_proxy(logs_api__max_limit=100)
    for name in ("limit", "page_size"):
        resp = await client.get("/v1/logs", params={name: value})
        body = await resp.json()
        assert resp.status == 400 and body["error"]["param"] == name, body
        assert "logs_api.max_limit" in body["error"]["message"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", ["\u00b2", "\u2460", "1\u00b2"])
async def test_a_digit_that_is_no_number_is_a_400_not_a_crash(make_proxy, value):
    # superscripts and circled digits are str.isdigit() but int() refuses them
    client = await make_proxy(logs_api__max_limit=100)
    for name in ("limit", "page_size"):
        resp = await client.get("/v1/logs", params={name: value})
        assert resp.status == 400 and (await resp.json())["error"]["param"] == name


@pytest.mark.sqlite_only
async def test_keys_sent_in_portkeys_header_each_have_their_budget(make_proxy):
    clock = Clock()
    client = await make_proxy(seams=Seams(rate_clock=clock), logs_api__requests_per_minute=1,
                              logs_api__api_keys=[LOGS_KEY, "pk_live_other"])
    assert (await client.get("/v1/logs", headers={"x-portkey-api-key": LOGS_KEY})).status == 200
    assert (await client.get("/v1/logs", headers={"x-portkey-api-key": LOGS_KEY})).status == 429
    # the same key as a bearer token spends the same budget; another key in either header has its own
    assert (await client.get("/v1/logs", headers=AUTH)).status == 429
    assert (await client.get("/v1/logs", headers={"x-portkey-api-key": "pk_live_other"})).status == 200


# -- export: JSON, CSV, Parquet ------------------------------------------------------------------------

async def _jsonl_records(client, query: str = "") -> list[dict]:
    resp = await client.get(f"/v1/logs/export?format=jsonl{query}", headers=AUTH)
    assert resp.status == 200
    return [orjson.loads(line) for line in (await resp.read()).splitlines()]


async def test_export_json_is_one_array_of_the_jsonl_records(perf):
    resp = await perf.get("/v1/logs/export?format=json&fields=id,model,cost_usd,metadata,request_ip,user_agent",
                          headers=AUTH)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
    records = orjson.loads(await resp.read())
    assert records == await _jsonl_records(perf, "&fields=id,model,cost_usd,metadata,request_ip,user_agent")
    assert [r["id"] for r in records] == [perf.ids["a"], perf.ids["b"], perf.ids["c"]]
    assert records[0] == {"id": perf.ids["a"], "model": "gpt-4o-mini", "cost_usd": 7_200 / 1e9,
                          "metadata": {"feature": "contact_extraction", "version": "v2"},
                          "request_ip": "127.0.0.1", "user_agent": "perf-client/1.0"}
    empty = await perf.get("/v1/logs/export?format=json&task_type=none", headers=AUTH)
    assert orjson.loads(await empty.read()) == []


async def test_export_csv_reads_back(perf):
    resp = await perf.get("/v1/logs/export?format=csv&fields=id,task_type,cost_usd,total_tokens", headers=AUTH)
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode())))
    assert rows == [{"id": perf.ids["a"], "task_type": "extraction", "cost_usd": str(7_200 / 1e9),
                     "total_tokens": "24"},
                    {"id": perf.ids["b"], "task_type": "extraction", "cost_usd": str(82_500 / 1e9),
                     "total_tokens": "18"},
                    {"id": perf.ids["c"], "task_type": "classification", "cost_usd": str(4_200 / 1e9),
                     "total_tokens": "16"}]


def _parquet(data: bytes):
    return pq.ParquetFile(io.BytesIO(data))


async def test_export_parquet_spans_row_groups_and_reads_back_exactly(make_proxy, db_path):
    """2500 calls: three row groups of at most 1000 rows (one per store batch), every value back."""
    base = 1_780_000_000_000
    entries = [make_entry(base + i, prompt=f"prompt {i}", user_id=f"u{i % 7}", cost_micros=i, total_tokens=i,
                          duration_ms=i / 4, stream=i % 2, tags=("t",) if i % 3 == 0 else (),
                          metadata=orjson.dumps({"i": i}).decode() if i % 5 == 0 else None)
               for i in range(2500)]
    seed(db_path, entries)
    client = await make_proxy()
    fields = "id,started_at,model,stream,duration_ms,total_tokens,cost_usd,user_id,tags,metadata,prompt_text"
    resp = await client.get(f"/v1/logs/export?format=parquet&fields={fields}")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/vnd.apache.parquet"
    file = _parquet(await resp.read())
    assert file.metadata.num_row_groups == 3
    assert [file.metadata.row_group(i).num_rows for i in range(3)] == [1000, 1000, 500]
    table = file.read()
    assert table.column_names == fields.split(",")
    assert [str(t) for t in table.schema.types] == ["string", "timestamp[ms, tz=UTC]", "string", "bool", "double",
                                                    "int64", "double", "string", "string", "string", "string"]
    got = table.to_pylist()
    assert len(got) == 2500
    for i, row in enumerate(got):
        assert row["started_at"].timestamp() * 1000 == base + i
        row["started_at"] = None
        assert row == {"id": entries[i].call["id"], "started_at": None, "model": "gpt-4o-mini",
                       "stream": bool(i % 2), "duration_ms": i / 4, "total_tokens": i, "cost_usd": i / 1e6,
                       "user_id": f"u{i % 7}", "tags": '["t"]' if i % 3 == 0 else "[]",
                       "metadata": f'{{"i":{i}}}' if i % 5 == 0 else None, "prompt_text": f"prompt {i}"}, i


async def test_export_job_in_parquet_and_json(perf):
    for fmt in ("parquet", "json"):
        resp = await perf.post("/v1/logs/exports", json={"format": fmt, "requested_data": ["id", "total_tokens"]},
                               headers=AUTH)
        assert resp.status == 201, await resp.text()
        job_id = (await resp.json())["id"]
        assert (await perf.post(f"/v1/logs/exports/{job_id}/start", headers=AUTH)).status == 202
        for _ in range(250):
            status = (await (await perf.get(f"/v1/logs/exports/{job_id}", headers=AUTH)).json())["status"]
            if status in ("success", "failure"):
                break
            await asyncio.sleep(0.02)
        assert status == "success"
        data = await (await perf.get(f"/v1/logs/exports/{job_id}/file", headers=AUTH)).read()
        rows = _parquet(data).read().to_pylist() if fmt == "parquet" else orjson.loads(data)
        assert rows == [{"id": perf.ids["a"], "total_tokens": 24}, {"id": perf.ids["b"], "total_tokens": 18},
                        {"id": perf.ids["c"], "total_tokens": 16}]


@pytest.mark.sqlite_only
async def test_parquet_without_pyarrow_is_a_400_saying_how_to_install_it(make_proxy, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed: importing it fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    client = await make_proxy()
    for resp in (await client.get("/v1/logs/export?format=parquet"),
                 await client.post("/v1/logs/exports", json={"format": "parquet"})):
        error = (await resp.json())["error"]
        assert resp.status == 400 and error["param"] == "format"
        assert "pip install 'llmlog[parquet]'" in error["message"]
