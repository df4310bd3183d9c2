"""AgentRouter's request logs (seed 002) driven as its document does: `GET /v1/request-logs`,
`/v1/request-logs/{request_id}`, `/v1/request-logs/stats` with its parameter names and values and
`Authorization: Bearer <key>`, over calls made through the proxy to the fake upstream."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import orjson
import pytest
from aiohttp import web

from llmlog.proxy.app import make_app
from llmlog.proxy.settings import load_config
from tests.conftest import CHAT, age_call, chat_body, flushed, served
from tests.fakes.fake_upstream import FakeUpstream

pytestmark = pytest.mark.backends
SPEECH = bytes(range(256)) * 4  # an answer that is not UTF-8


class SpeakingFake(FakeUpstream):
    """The fake upstream, answering `POST /v1/audio/speech` with bytes as a TTS model does."""

    async def echo(self, request: web.Request) -> web.Response:
        if request.path == "/v1/audio/speech":
            await self._record(request)
            return web.Response(body=SPEECH, content_type="audio/mpeg")
        return await super().echo(request)


@pytest.fixture
def fake():
    return SpeakingFake()

ADMIN = "ak-logs-reader-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
ALICE_KEY = "sk-alice-" + "a" * 40  # llmlog shows a key's first 10 characters: "sk-alice-a"
BOB_KEY = "sk-bob-" + "b" * 40
ALICE_HASH = hashlib.sha256(ALICE_KEY.encode()).hexdigest()
BOB_HASH = hashlib.sha256(BOB_KEY.encode()).hexdigest()
# gpt-4o-mini: $0.15 / $0.60 per 1M tokens; gpt-4o: $2.50 / $10.00 (genai-prices)
# (name, provider key, user, body, extra headers); the fake upstream answers prompt 9 + words, output 1 + words
CALLS = [
    ("c0", ALICE_KEY, "alice", chat_body("one two three", temperature=0.2, max_tokens=50), {}),
    ("c1", BOB_KEY, "bob", chat_body("alpha beta", model="gpt-4o", stream=True,
                                     stream_options={"include_usage": True}), {}),
    ("c2", ALICE_KEY, "alice", chat_body("oops", model="bad-model"), {}),
    ("c3", None, "carol", chat_body("secret words here"), {"x-debug": "false"}),
    ("c4", BOB_KEY, "bob", chat_body("v w x y z", top_p=0.5), {}),
    ("c5", None, None, chat_body("six"), {}),
]
TOKENS = {"c0": (12, 4), "c1": (11, 3), "c2": (0, 0), "c3": (12, 4), "c4": (14, 6), "c5": (10, 2)}


@pytest.fixture
async def ar(aiohttp_client, upstream, fake, db_path, tmp_path):
    """A proxy with a logs key and two named provider keys (one by prefix, one by hash), after the six calls."""
    config_file = tmp_path / "llmlog.toml"
    config_file.write_text(f'[api_key_names]\n"sk-alice-a" = "alice laptop"\n"{BOB_HASH.upper()}" = "ci"\n')
    config = load_config(config_file, env={}, upstream=str(upstream.make_url("")).rstrip("/"), overrides={
        "store.path": db_path, "store.batch_interval_ms": 20, "logs_api.api_keys": [ADMIN]})
    client = await served(aiohttp_client, make_app(config))
    client.ids, client.raw = {}, {}
    for name, key, user, body, extra in CALLS:
        headers = {**({"Authorization": f"Bearer {key}"} if key else {}),
                   **({"x-llmlog-user": user} if user else {}), **extra}
        fake.header_delay_s = 0.06 if name == "c4" else 0.0  # the upstream's own time, for upstream_duration_ms
        resp = await client.post(CHAT, data=body, headers=headers)
        client.raw[name] = await resp.read()
        client.ids[name] = resp.headers["x-llmlog-id"]
        await asyncio.sleep(0.003)  # distinct milliseconds, so time bounds split the calls exactly
    await flushed(client)
    client.names = {v: k for k, v in client.ids.items()}
    client.fake = fake
    return client


async def get(client, path, **params) -> dict:
    resp = await client.get(path, params=params, headers=AUTH)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def names(client, **params) -> list[str]:
    body = await get(client, "/v1/request-logs", **params)
    return [client.names[log["id"]] for log in body["logs"]]


async def error(client, path, expect=400, **params) -> dict:
    resp = await client.get(path, params=params, headers=AUTH)
    assert resp.status == expect, await resp.text()
    return (await resp.json())["error"]


async def test_query_request_logs_answers_the_documents_response(ar):
    body = await get(ar, "/v1/request-logs")
    assert set(body) == {"logs", "next_page_token", "total_count"}
    assert body["total_count"] == 6 and body["next_page_token"] == ""
    assert [ar.names[log["id"]] for log in body["logs"]] == ["c5", "c4", "c3", "c2", "c1", "c0"]
    c0 = next(log for log in body["logs"] if log["id"] == ar.ids["c0"])
    assert c0["request_id"] == ar.ids["c0"] and c0["model_name"] == "gpt-4o-mini"
    assert (c0["user_id"], c0["status"], c0["status_code"]) == ("alice", "success", 200)
    assert (c0["api_key_id"], c0["api_key_hash"], c0["api_key_prefix"]) == (ALICE_HASH, ALICE_HASH, "sk-alice-a")
    assert c0["api_key_name"] == "alice laptop"
    assert (c0["input_tokens"], c0["output_tokens"]) == (12, 4)
    assert c0["request_body"] is None and c0["response_body_raw"] is None  # a list reads no content


@pytest.mark.parametrize(("params", "expected"), [
    ({"user_id": "alice"}, ["c2", "c0"]),
    ({"api_key_id": BOB_HASH}, ["c4", "c1"]),
    ({"api_key_id": "sk-alice-a"}, ["c2", "c0"]),
    ({"model_name": "gpt-4o"}, ["c1"]),
    ({"status": "error"}, ["c2"]),
    ({"status": "success", "user_id": "bob"}, ["c4", "c1"]),
    ({"status_code": "400"}, ["c2"]),
    ({"status_code": "200", "model_name": "gpt-4o-mini"}, ["c5", "c4", "c3", "c0"]),
])
async def test_each_filter_of_the_document(ar, params, expected):
    assert await names(ar, **params) == expected
    body = await get(ar, "/v1/request-logs", **params)
    assert body["total_count"] == len(expected)


async def test_start_time_is_inclusive_and_end_time_exclusive(ar):
    logs = {ar.names[log["id"]]: log for log in (await get(ar, "/v1/request-logs"))["logs"]}
    start, end = logs["c1"]["timestamp"], logs["c4"]["timestamp"]
    assert await names(ar, start_time=start, end_time=end) == ["c3", "c2", "c1"]
    assert await names(ar, start_time=start) == ["c5", "c4", "c3", "c2", "c1"]
    assert await names(ar, end_time=end) == ["c3", "c2", "c1", "c0"]


async def test_min_and_max_duration_ms_bound_the_calls_duration(ar):
    logs = (await get(ar, "/v1/request-logs"))["logs"]
    durations = sorted((log["duration_ms"], ar.names[log["id"]]) for log in logs)
    middle = durations[2][0]
    assert set(await names(ar, min_duration_ms=str(middle))) == {n for d, n in durations if d >= middle}
    assert set(await names(ar, max_duration_ms=str(middle))) == {n for d, n in durations if d <= middle}
    assert await names(ar, min_duration_ms="60") == ["c4"]  # the one the upstream held 60 ms


@pytest.mark.parametrize("order_by", ["timestamp", "duration_ms", "input_tokens", "output_tokens"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_page_token_walks_every_order_without_repeats_or_gaps(ar, order_by, direction):
    everything = (await get(ar, "/v1/request-logs"))["logs"]

    def key(log):
        value = {"timestamp": log["timestamp"], "duration_ms": log["duration_ms"],
                 "input_tokens": log["input_tokens"] or 0, "output_tokens": log["output_tokens"] or 0}[order_by]
        return value, log["id"]
    expected = [ar.names[log["id"]] for log in sorted(everything, key=key, reverse=direction == "desc")]
    seen, token, pages = [], "", 0
    while True:
        body = await get(ar, "/v1/request-logs", page_size="4", order_by=order_by, order_direction=direction,
                         page_token=token)
        assert body["total_count"] == 6
        seen += [ar.names[log["id"]] for log in body["logs"]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    assert (seen, pages) == (expected, 2)
    # and one at a time: six pages, the last with an empty token
    seen, token = [], ""
    for _ in range(6):
        body = await get(ar, "/v1/request-logs", page_size="1", order_by=order_by, order_direction=direction,
                         page_token=token)
        seen += [ar.names[log["id"]] for log in body["logs"]]
        token = body["next_page_token"]
    assert seen == expected and token == ""


async def test_page_size_defaults_to_50_and_is_at_most_1000(ar):
    for i in range(3):
        assert (await ar.post(CHAT, data=chat_body(f"more {i}"))).status == 200
    await flushed(ar)
    body = await get(ar, "/v1/request-logs", page_size="1000")
    assert len(body["logs"]) == body["total_count"] == 9
    assert (await error(ar, "/v1/request-logs", page_size="1001"))["param"] == "page_size"
    assert (await error(ar, "/v1/request-logs", page_size="0"))["param"] == "page_size"


@pytest.mark.parametrize(("params", "param"), [
    ({"limit": "5"}, "limit"),  # /v1/logs's name, not the document's
    ({"model": "gpt-4o"}, "model"),
    ({"bogus": "1"}, "bogus"),
    ({"order_by": "cost"}, "order_by"),
    ({"order_direction": "sideways"}, "order_direction"),
    ({"status": "finished"}, "status"),
    ({"status_code": "abc"}, "status_code"),
    ({"start_time": "yesterday"}, "start_time"),
    ({"min_duration_ms": "-1"}, "min_duration_ms"),
    ({"page_token": "not-a-token"}, "page_token"),
])
async def test_invalid_or_unknown_parameters_are_400_naming_them(ar, params, param):
    assert (await error(ar, "/v1/request-logs", **params))["param"] == param


async def test_a_token_from_another_order_is_refused(ar):
    token = (await get(ar, "/v1/request-logs", page_size="2"))["next_page_token"]
    assert token
    assert (await error(ar, "/v1/request-logs", page_token=token, order_by="input_tokens"))["param"] == "page_token"


async def test_get_request_log_has_the_documents_fields(ar):
    log = await get(ar, f"/v1/request-logs/{ar.ids['c0']}")
    document_fields = {
        "id", "timestamp", "user_id", "api_key_id", "api_key_prefix", "api_key_hash", "api_key_address",
        "api_key_name", "model_name", "input_tokens", "output_tokens", "input_tokens_cost_microdollar",
        "input_tokens_cost", "input_tokens_cost_before_fee", "output_tokens_cost_microdollar", "output_tokens_cost",
        "output_tokens_cost_before_fee", "status", "status_code", "request_headers", "request_body",
        "response_headers", "response_body", "response_body_raw", "llm_parameters", "upstream_duration_ms",
        "duration_ms", "request_id", "created_at", "storage_location", "storage_row_index", "storage_batch_id",
        "use_object_storage", "cached_input_tokens", "cached_input_tokens_cost",
        "cached_input_tokens_cost_before_fee", "cache_creation_input_tokens", "cache_creation_input_tokens_cost",
        "cache_creation_input_tokens_cost_before_fee"}
    assert document_fields <= set(log)
    assert (log["id"], log["request_id"], log["model_name"], log["user_id"]) == (
        ar.ids["c0"], ar.ids["c0"], "gpt-4o-mini", "alice")
    assert (log["api_key_hash"], log["api_key_prefix"], log["api_key_name"]) == (ALICE_HASH, "sk-alice-a",
                                                                                 "alice laptop")
    assert (log["input_tokens"], log["output_tokens"], log["cached_input_tokens"],
            log["cache_creation_input_tokens"]) == (12, 4, 0, 0)
    # 12 x $0.15/1M = $0.0000018 and 4 x $0.60/1M = $0.0000024: exact decimals, whole micro-dollars rounded
    assert (log["input_tokens_cost"], log["input_tokens_cost_before_fee"], log["input_tokens_cost_microdollar"]) \
        == ("0.0000018", "0.0000018", 2)
    assert (log["output_tokens_cost"], log["output_tokens_cost_before_fee"],
            log["output_tokens_cost_microdollar"]) == ("0.0000024", "0.0000024", 2)
    assert (log["cached_input_tokens_cost"], log["cache_creation_input_tokens_cost"]) == ("0", "0")
    assert (log["status"], log["status_code"]) == ("success", 200)
    assert log["request_body"] == orjson.loads(CALLS[0][3])
    assert log["llm_parameters"] == {"temperature": 0.2, "max_tokens": 50}
    headers = {k.lower(): v for k, v in log["request_headers"].items()}
    assert headers["authorization"] == "[redacted]" and "x-llmlog-user" not in headers  # as forwarded
    assert {"accept", "user-agent"} <= set(headers)
    assert {k.lower(): v for k, v in log["response_headers"].items()}["content-type"].startswith("application/json")
    assert log["response_body"]["choices"][0]["message"]["content"] == "Echo: one two three"
    assert log["response_body_raw_encoding"] == "utf-8"
    assert log["response_body_raw"].encode() == ar.raw["c0"]  # byte for byte what the upstream sent
    assert 0 < log["upstream_duration_ms"] <= log["duration_ms"]
    for name in ("api_key_address", "storage_location", "storage_row_index", "storage_batch_id",
                 "use_object_storage"):
        assert log[name] is None
    assert log["created_at"] >= log["timestamp"]


async def test_a_streamed_call_has_its_raw_events_and_the_assembled_message(ar):
    log = await get(ar, f"/v1/request-logs/{ar.ids['c1']}")
    assert log["response_body_raw"].encode() == ar.raw["c1"]
    assert log["response_body_raw"].startswith("data: {") and log["response_body_raw"].endswith("data: [DONE]\n\n")
    assert log["response_body"]["choices"][0]["message"]["content"] == "Echo: alpha beta"
    assert (log["input_tokens"], log["output_tokens"]) == (11, 3)
    # gpt-4o: 11 x $2.50/1M = $0.0000275, 3 x $10/1M = $0.00003
    assert (log["input_tokens_cost"], log["output_tokens_cost"]) == ("0.0000275", "0.00003")
    assert (log["input_tokens_cost_microdollar"], log["output_tokens_cost_microdollar"]) == (28, 30)
    assert log["api_key_name"] == "ci"  # named by its hash (written in upper case in the config)
    assert log["llm_parameters"] == {}


async def test_raw_bytes_that_are_not_utf8_come_back_as_base64(ar):
    resp = await ar.post("/v1/audio/speech", data=b'{"model": "tts-1", "input": "hi"}')
    assert await resp.read() == SPEECH
    await flushed(ar)
    log = await get(ar, f"/v1/request-logs/{resp.headers['x-llmlog-id']}")
    assert log["response_body_raw_encoding"] == "base64"
    assert base64.b64decode(log["response_body_raw"]) == SPEECH


async def test_a_compressed_answer_is_kept_decoded(ar, fake):
    fake.gzip_answers = True
    resp = await ar.post(CHAT, data=chat_body("zipped"), headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    await flushed(ar)
    log = await get(ar, f"/v1/request-logs/{resp.headers['x-llmlog-id']}")
    assert log["response_body_raw_encoding"] == "utf-8"
    assert log["response_body_raw"].encode() == await resp.read()  # the client's copy, inflated by aiohttp


async def test_upstream_duration_is_the_upstreams_own_time_and_shown_on_v1_logs_too(ar):
    log = await get(ar, f"/v1/request-logs/{ar.ids['c4']}")
    assert 60 <= log["upstream_duration_ms"] <= log["duration_ms"]
    entry = await get(ar, f"/v1/logs/{ar.ids['c4']}")
    assert entry["upstream_duration_ms"] == log["upstream_duration_ms"]
    assert entry["api_key_name"] == "ci"
    assert (await get(ar, f"/v1/request-logs/{ar.ids['c5']}"))["upstream_duration_ms"] < 60


async def test_do_not_track_leaves_every_content_field_null(ar):
    log = await get(ar, f"/v1/request-logs/{ar.ids['c3']}")
    for name in ("request_headers", "request_body", "response_headers", "response_body", "response_body_raw",
                 "llm_parameters"):
        assert log[name] is None, name
    assert (log["input_tokens"], log["output_tokens"], log["user_id"]) == (12, 4, "carol")


async def test_an_unknown_request_id_is_404_and_no_parameter_is_taken(ar):
    assert (await error(ar, "/v1/request-logs/01NOSUCHCALL0000000000000", expect=404))["param"] == "id"
    assert (await error(ar, f"/v1/request-logs/{ar.ids['c0']}", verbose="1"))["param"] == "verbose"


async def test_stats_by_model_counts_and_totals(ar):
    body = await get(ar, "/v1/request-logs/stats", group_by="model", metric="count")
    assert [(g["key"], g["value"], g["count"]) for g in body["stats"]] == [
        ("gpt-4o-mini", 4, 4), ("bad-model", 1, 1), ("gpt-4o", 1, 1)]
    input_tokens = sum(t[0] or 0 for t in TOKENS.values())
    output_tokens = sum(t[1] or 0 for t in TOKENS.values())
    assert (body["total_count"], body["total_input_tokens"], body["total_output_tokens"], body["error_count"]) \
        == (6, input_tokens, output_tokens, 1)
    # gpt-4o-mini: (12+12+14+10) x 0.15 + (4+4+6+2) x 0.60 = 7.2 + 9.6 = 16.8 micro; gpt-4o 27.5 + 30 micro
    assert body["total_cost"] == "0.0000743"
    mini = body["stats"][0]
    assert (mini["input_tokens"], mini["output_tokens"], mini["total_cost"]) == (48, 16, "0.0000168")
    logs = (await get(ar, "/v1/request-logs"))["logs"]
    assert body["avg_duration_ms"] == pytest.approx(sum(log["duration_ms"] for log in logs) / 6, abs=0.001)


@pytest.mark.parametrize(("group_by", "metric", "expected"), [
    ("user", "tokens", [("bob", 34), ("alice", 16), ("carol", 16), (None, 12)]),
    ("user", "errors", [("alice", 1), ("bob", 0), ("carol", 0), (None, 0)]),
    ("status", "count", [("success", 5), ("error", 1)]),
    ("api_key", "count", sorted([(ALICE_HASH, 2), (BOB_HASH, 2)]) + [(None, 2)]),  # ties: by key, none last
    ("model", "cost", [("gpt-4o", 0.0000575), ("gpt-4o-mini", 0.0000168), ("bad-model", 0.0)]),
])
async def test_stats_group_by_and_metric(ar, group_by, metric, expected):
    body = await get(ar, "/v1/request-logs/stats", group_by=group_by, metric=metric)
    assert [(g["key"], g["value"]) for g in body["stats"]] == expected
    assert body["total_count"] == 6
    if group_by == "api_key":
        # alice's key is named by its prefix ("sk-alice-a"), bob's by its hash: both named, as in the list
        assert {g["key"]: g["api_key_name"] for g in body["stats"]} == {
            None: None, ALICE_HASH: "alice laptop", BOB_HASH: "ci"}


async def test_stats_latency_is_the_same_figure_as_v1_logs_stats(ar):
    mine = await get(ar, "/v1/request-logs/stats", group_by="model", metric="latency")
    theirs = await get(ar, "/v1/logs/stats", group_by="model")
    assert {g["key"]: g["value"] for g in mine["stats"]} == {g["key"]: g["avg_latency_ms"] for g in theirs["groups"]}
    values = [g["value"] for g in mine["stats"]]
    assert values == sorted(values, reverse=True)


async def test_stats_filters_and_time_buckets(ar):
    body = await get(ar, "/v1/request-logs/stats", group_by="model", user_id="bob", model_name="gpt-4o-mini")
    assert [(g["key"], g["count"]) for g in body["stats"]] == [("gpt-4o-mini", 1)]
    assert (body["total_input_tokens"], body["total_output_tokens"]) == (14, 6)
    logs = {ar.names[log["id"]]: log for log in (await get(ar, "/v1/request-logs"))["logs"]}
    start, end = logs["c1"]["timestamp"], logs["c4"]["timestamp"]
    body = await get(ar, "/v1/request-logs/stats", group_by="status", start_time=start, end_time=end)
    assert body["total_count"] == 3 and body["error_count"] == 1
    body = await get(ar, "/v1/request-logs/stats", group_by="hour", metric="count", start_time="-2h")
    assert len(body["stats"]) in (2, 3) and sum(g["value"] for g in body["stats"]) == 6
    assert all(g["key"].endswith(":00:00.000Z") for g in body["stats"])
    body = await get(ar, "/v1/request-logs/stats", group_by="day")
    assert len(body["stats"]) in (7, 8) and sum(g["count"] for g in body["stats"]) == 6


@pytest.mark.parametrize(("params", "param"), [
    ({"group_by": "tag"}, "group_by"),
    ({"metric": "p99"}, "metric"),
    ({"status": "error"}, "status"),  # not a stats field of the document
    ({"start_time": "soon"}, "start_time"),
])
async def test_stats_refuses_what_the_document_does_not_have(ar, params, param):
    assert (await error(ar, "/v1/request-logs/stats", **params))["param"] == param


async def test_the_routes_need_the_logs_key(ar):
    for path in ("/v1/request-logs", f"/v1/request-logs/{ar.ids['c0']}", "/v1/request-logs/stats"):
        assert (await ar.get(path)).status == 401
        assert (await ar.get(path, headers={"Authorization": "Bearer wrong"})).status == 401


async def test_paths_no_route_serves_are_answered_locally_and_never_forwarded(ar):
    before = len(ar.fake.received)
    for method, path, status in (("GET", f"/v1/request-logs/{ar.ids['c0']}/extra", 404),
                                 ("POST", "/v1/request-logs", 405), ("DELETE", "/v1/request-logs/stats", 405),
                                 ("GET", "/v1/request-logs/", 404), ("POST", "/v1/Request-Logs/query", 404)):
        resp = await ar.request(method, path, headers=AUTH, data=b"{}")
        assert resp.status == status, (method, path, await resp.text())
        assert "error" in await resp.json()
    assert len(ar.fake.received) == before
    stored = (await get(ar, "/v1/request-logs"))["total_count"]
    assert stored == 6  # none of them was logged as a call


async def test_openapi_documents_the_three_routes(ar):
    doc = await get(ar, "/openapi.json")
    listed = {p["name"] for p in doc["paths"]["/v1/request-logs"]["get"]["parameters"]}
    assert listed == {"user_id", "api_key_id", "model_name", "status", "status_code", "start_time", "end_time",
                      "min_duration_ms", "max_duration_ms", "page_size", "page_token", "order_by", "order_direction"}
    stats = {p["name"] for p in doc["paths"]["/v1/request-logs/stats"]["get"]["parameters"]}
    assert stats == {"user_id", "model_name", "start_time", "end_time", "group_by", "metric"}
    assert "get" in doc["paths"]["/v1/request-logs/{request_id}"]


async def test_no_default_time_window_unlike_v1_logs(ar, db_path):
    age_call(db_path, ar.ids["c0"], 30 * 86_400_000)  # a month old: past /v1/logs's default 7 days
    assert (await get(ar, "/v1/logs"))["total"] == 5
    assert (await get(ar, "/v1/request-logs"))["total_count"] == 6
    assert (await names(ar, user_id="alice")) == ["c2", "c0"]
    assert (await get(ar, "/v1/request-logs/stats", group_by="user"))["total_count"] == 6
    assert sum(g["count"] for g in (await get(ar, "/v1/request-logs/stats", group_by="day"))["stats"]) == 5
