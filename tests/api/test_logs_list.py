"""GET /v1/logs against known entries: every filter, alias, default, sort and error of DESIGN §6."""

from __future__ import annotations

import hashlib
import time

import pytest

from llmlog.proxy.query.timeparse import iso_ms
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

NOW = int(time.time() * 1000)
BASE = NOW - 3_600_000
ALICE_KEY_HASH = hashlib.sha256(b"sk-alice-key").hexdigest()


def _dataset():
    """Seven entries that differ along every filter axis; e5 is older than the default 7 days."""
    e = {}
    e["e0"] = make_entry(BASE, prompt="apple banana", user_id="alice", api_key_hash=ALICE_KEY_HASH,
                         api_key_prefix="sk-alice-k", tags=("a",), environment="prod", task_type="chat",
                         trace_id="t1", session_id="s1", cost_micros=100, duration_ms=100.0,
                         total_tokens=15, input_tokens=10, output_tokens=5)
    e["e1"] = make_entry(BASE + 1000, prompt="cherry", model="gpt-4o", status="error", status_code=500,
                         user_id="bob", api_key_hash="h-bob", api_key_prefix="sk-bob", tags=("b",),
                         environment="dev", task_type="summarize", trace_id="t2", session_id="s2", stream=1,
                         cost_micros=2_500_000, duration_ms=900.0, total_tokens=3000, input_tokens=2000,
                         output_tokens=1000)
    e["e2"] = make_entry(BASE + 2000, model="claude-3-5-sonnet", provider="anthropic", status="timeout",
                         status_code=504, user_id="alice", tags=("a", "b"), environment="prod", stream=1,
                         priced=0, cost_micros=None, duration_ms=5000.0, total_tokens=None,
                         input_tokens=None, output_tokens=None)
    e["e3"] = make_entry(BASE + 3000, prompt="banana split", status="client_closed", status_code=499,
                         user_id="carol", cost_micros=50, duration_ms=50.0, total_tokens=8, input_tokens=5,
                         output_tokens=3)
    e["e4"] = make_entry(BASE + 4000, prompt="secret durian", do_not_track=1, status="error",
                         status_code=429, cost_micros=30, duration_ms=70.0, total_tokens=40, input_tokens=30,
                         output_tokens=10)
    e["e5"] = make_entry(NOW - 8 * 86_400_000, user_id="alice")
    e["e6"] = make_entry(BASE + 6000, prompt="vectors", model="text-embedding-3-small", environment="staging",
                         cost_micros=1, duration_ms=20.0, total_tokens=100, input_tokens=100, output_tokens=0)
    e["e3"].call["parent_id"] = e["e0"].call["id"]
    return e


@pytest.fixture
async def api(make_proxy, db_path):
    entries = _dataset()
    seed(db_path, list(entries.values()))
    client = await make_proxy()
    client.names = {entry.call["id"]: name for name, entry in entries.items()}
    client.ids = {name: entry.call["id"] for name, entry in entries.items()}
    client.started = {name: entry.call["started_at"] for name, entry in entries.items()}
    return client


async def names_for(api, params) -> tuple[list[str], dict]:
    resp = await api.get("/v1/logs", params=params)
    body = await resp.json()
    assert resp.status == 200, body
    return [api.names[entry["id"]] for entry in body["logs"]], body


ALL_RECENT = {"e0", "e1", "e2", "e3", "e4", "e6"}
FILTER_CASES = [
    ([], ALL_RECENT),
    ([("start_date", "-10d")], ALL_RECENT | {"e5"}),
    ([("from", "-10d")], ALL_RECENT | {"e5"}),
    ([("start_time", "-10d")], ALL_RECENT | {"e5"}),
    ([("start_date", "-8d"), ("end_date", "-7d")], set()),
    ([("model", "gpt-4o-mini")], {"e0", "e3", "e4"}),
    ([("model_name", "gpt-4o-mini")], {"e0", "e3", "e4"}),
    ([("model", "gpt-4o,claude-3-5-sonnet")], {"e1", "e2"}),
    ([("model", "gpt-4o"), ("model", "claude-3-5-sonnet")], {"e1", "e2"}),
    ([("provider", "anthropic")], {"e2"}),
    ([("status", "error")], {"e1", "e4"}),
    ([("statuses", "timeout,client_closed")], {"e2", "e3"}),
    ([("status", "error"), ("status", "timeout")], {"e1", "e2", "e4"}),
    ([("status_code", "429")], {"e4"}),
    ([("status_code", "500,504")], {"e1", "e2"}),
    ([("success_only", "true")], {"e0", "e6"}),
    ([("success_only", "false")], ALL_RECENT),
    ([("failed_only", "1")], {"e1", "e2", "e3", "e4"}),
    ([("failed_only", "true"), ("status", "success,error")], {"e1", "e4"}),
    ([("success_only", "true"), ("status", "error")], set()),
    ([("user_id", "alice")], {"e0", "e2"}),
    ([("user_id", "alice,carol")], {"e0", "e2", "e3"}),
    ([("api_key_id", ALICE_KEY_HASH)], {"e0"}),
    ([("api_key_id", "sk-bob")], {"e1"}),
    ([("tags", "a")], {"e0", "e2"}),
    ([("tags", "b")], {"e1", "e2"}),
    ([("tags", "a,b")], {"e0", "e1", "e2"}),
    ([("tag", "a"), ("tag", "b")], {"e0", "e1", "e2"}),
    ([("environment", "prod")], {"e0", "e2"}),
    ([("environment", "dev,staging")], {"e1", "e6"}),
    ([("task_type", "summarize")], {"e1"}),
    ([("trace_id", "t1")], {"e0"}),
    ([("session_id", "s2")], {"e1"}),
    ([("root_only", "true")], ALL_RECENT - {"e3"}),
    ([("stream", "true")], {"e1", "e2"}),
    ([("stream", "false")], {"e0", "e3", "e4", "e6"}),
    ([("min_cost", "1")], {"e1"}),
    ([("max_cost", "0.0001")], {"e0", "e3", "e4", "e6"}),
    ([("min_cost", "0.00005"), ("max_cost", "0.0001")], {"e0", "e3"}),
    ([("min_duration_ms", "900")], {"e1", "e2"}),
    ([("max_duration_ms", "50")], {"e3", "e6"}),
    ([("min_tokens", "3000")], {"e1"}),
    ([("max_tokens", "15")], {"e0", "e3"}),
    ([("q", "banana")], {"e0", "e3"}),
    ([("q", "split banana")], {"e3"}),
    ([("q", "CHERRY")], {"e1"}),
    ([("q", "durian")], set()),  # do-not-track: its prompt was never indexed
    ([("q", '"-')], set()),  # punctuation is plain text, never FTS syntax
    ([("model", "gpt-4o-mini"), ("user_id", "alice"), ("tags", "a")], {"e0"}),
]


@pytest.mark.parametrize("params,expected", FILTER_CASES, ids=[str(p) for p, _ in FILTER_CASES])
async def test_each_filter_and_alias_returns_exactly_the_matching_entries(api, params, expected):
    got, body = await names_for(api, params)
    assert set(got) == expected
    assert len(got) == len(expected)  # no entry twice
    assert body["total"] == len(expected)


async def test_time_bounds_start_inclusive_end_exclusive_with_every_alias(api):
    start, end = iso_ms(api.started["e2"]), iso_ms(api.started["e4"])
    for lo, hi in (("start_date", "end_date"), ("from", "to"), ("start_time", "end_time")):
        got, body = await names_for(api, [(lo, start), (hi, end)])
        assert got == ["e3", "e2"] and body["total"] == 2
    # only an end: the default window is the 7 days before it
    got, _ = await names_for(api, [("end_date", iso_ms(api.started["e2"]))])
    assert got == ["e1", "e0"]


async def test_parent_id_filter(api):
    got, _ = await names_for(api, [("parent_id", api.ids["e0"])])
    assert got == ["e3"]


SORT_CASES = [
    ([], ["e6", "e4", "e3", "e2", "e1", "e0"]),
    ([("sort_order", "asc")], ["e0", "e1", "e2", "e3", "e4", "e6"]),
    ([("sort_by", "timestamp"), ("order_direction", "asc")], ["e0", "e1", "e2", "e3", "e4", "e6"]),
    ([("sort_by", "cost"), ("sort_order", "asc")], ["e2", "e6", "e4", "e3", "e0", "e1"]),
    ([("order_by", "cost")], ["e1", "e0", "e3", "e4", "e6", "e2"]),
    ([("sort_by", "latency")], ["e2", "e1", "e0", "e4", "e3", "e6"]),
    ([("sort_by", "duration_ms"), ("sort_order", "asc")], ["e6", "e3", "e4", "e0", "e1", "e2"]),
    ([("sort_by", "tokens")], ["e1", "e6", "e4", "e0", "e3", "e2"]),
    ([("sort_by", "input_tokens")], ["e1", "e6", "e4", "e0", "e3", "e2"]),
    ([("sort_by", "output_tokens"), ("sort_order", "asc")], ["e2", "e6", "e3", "e0", "e4", "e1"]),
]


@pytest.mark.parametrize("params,expected", SORT_CASES, ids=[str(p) for p, _ in SORT_CASES])
async def test_sorting(api, params, expected):
    got, _ = await names_for(api, params)
    assert got == expected


async def test_limit_offset_and_cursor_pages(api):
    got, body = await names_for(api, [("limit", "2")])
    assert got == ["e6", "e4"] and body["total"] == 6 and body["limit"] == 2
    assert body["pagination"]["has_more"] is True and body["pagination"]["next_offset"] == 2
    got, body = await names_for(api, [("page_size", "2"), ("offset", "4")])
    assert got == ["e1", "e0"] and body["offset"] == 4
    assert body["pagination"] == {"has_more": False, "next_offset": None, "next_cursor": None}
    got, body = await names_for(api, [("limit", "4"), ("sort_by", "cost")])
    assert got == ["e1", "e0", "e3", "e4"]
    cursor = body["pagination"]["next_cursor"]
    got, body = await names_for(api, [("limit", "4"), ("sort_by", "cost"), ("page_token", cursor)])
    assert got == ["e6", "e2"] and body["total"] == 6 and body["pagination"]["has_more"] is False
    _, body = await names_for(api, [])
    assert body["limit"] == 50 and body["offset"] == 0


ERROR_CASES = [
    ([("bogus", "1")], "bogus"),
    ([("limit", "0")], "limit"),
    ([("limit", "1001")], "limit"),
    ([("limit", "ten")], "limit"),
    ([("page_size", "ten")], "page_size"),
    ([("limit", "1"), ("limit", "2")], "limit"),
    ([("offset", "-1")], "offset"),
    ([("offset", "99999999999999999999999")], "offset"),
    ([("cursor", "not-a-cursor")], "cursor"),
    ([("page_token", "bm90IGEgY3Vyc29y")], "page_token"),
    ([("start_date", "yesterday")], "start_date"),
    ([("from", "2024-13-45")], "from"),
    ([("end_time", "-99999999999999999999w")], "end_time"),
    ([("start_date", "-1d"), ("end_date", "-2d")], "start_date"),
    ([("status", "ok")], "status"),
    ([("statuses", "success,nope")], "statuses"),
    ([("status_code", "abc")], "status_code"),
    ([("status_code", "99999999999999999999")], "status_code"),
    ([("success_only", "maybe")], "success_only"),
    ([("success_only", "true"), ("failed_only", "true")], "failed_only"),
    ([("root_only", "2")], "root_only"),
    ([("stream", "perhaps")], "stream"),
    ([("min_cost", "-1")], "min_cost"),
    ([("max_cost", "nan")], "max_cost"),
    ([("max_cost", "1e30")], "max_cost"),
    ([("min_duration_ms", "-5")], "min_duration_ms"),
    ([("max_duration_ms", "inf")], "max_duration_ms"),
    ([("min_tokens", "1.5")], "min_tokens"),
    ([("max_tokens", "-3")], "max_tokens"),
    ([("sort_by", "size")], "sort_by"),
    ([("order_by", "size")], "order_by"),
    ([("sort_order", "up")], "sort_order"),
    ([("order_direction", "sideways")], "order_direction"),
    ([("q", "x" * 1001)], "q"),
    ([("q", "a"), ("q", "b")], "q"),
]


@pytest.mark.parametrize("params,param", ERROR_CASES, ids=[p for _, p in ERROR_CASES])
async def test_unknown_or_malformed_parameter_is_400_naming_it(api, params, param):
    resp = await api.get("/v1/logs", params=params)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert param in error["message"]


async def test_cursor_for_another_sort_and_cursor_with_offset_are_400(api):
    body = await (await api.get("/v1/logs", params={"limit": "1", "sort_by": "cost"})).json()
    cursor = body["pagination"]["next_cursor"]
    for params in ({"cursor": cursor}, {"cursor": cursor, "sort_by": "cost", "offset": "1"}):
        resp = await api.get("/v1/logs", params=params)
        assert resp.status == 400 and (await resp.json())["error"]["param"] == "cursor"


async def test_list_entries_carry_no_bodies(api):
    _, body = await names_for(api, [])
    for entry in body["logs"]:
        assert "request" not in entry and "response" not in entry
        # the output is a preview, as the prompt is: never the whole text of a long one
        assert entry["output"] is None or set(entry["output"]) == {"text", "truncated", "length", "parsed_json"}


async def test_latency_cursor_pages_walk_past_entries_without_a_duration(make_proxy, db_path):
    """llmlog always stores a duration, but a database written by hand may not: paging by latency
    must still return every entry once."""
    now = int(time.time() * 1000)
    entries = [make_entry(now - 1000 * i, duration_ms=None if i % 3 == 0 else float(i * 10)) for i in range(1, 10)]
    seed(db_path, entries)
    client = await make_proxy()
    seen, cursor = [], None
    for _ in range(10):
        params = {"sort_by": "latency", "limit": "2", **({"cursor": cursor} if cursor else {})}
        body = await (await client.get("/v1/logs", params=params)).json()
        seen += [entry["id"] for entry in body["logs"]]
        cursor = body["pagination"]["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(e.call["id"] for e in entries) and len(seen) == len(set(seen))


async def test_list_entries_show_a_prompt_preview_and_never_for_do_not_track(api):
    _, body = await names_for(api, [])
    prompts = {api.names[entry["id"]]: entry["prompt"] for entry in body["logs"]}
    assert prompts["e0"] == {"text": "apple banana", "truncated": False, "length": 12,
                             "hash": hashlib.sha256(b"apple banana").hexdigest()[:12], "message_count": 1}
    assert prompts["e3"] == {"text": "banana split", "truncated": False, "length": 12,
                             "hash": hashlib.sha256(b"banana split").hexdigest()[:12], "message_count": 1}
    assert prompts["e4"] is None  # do not track: no content, no preview


async def test_a_long_prompt_is_cut_to_the_preview_length_in_the_list_and_whole_in_the_entry(make_proxy, db_path):
    long_prompt = "word " * 100  # 500 characters
    seed(db_path, [make_entry(NOW - 1000, prompt=long_prompt)])
    api = await make_proxy()
    body = await (await api.get("/v1/logs")).json()
    preview = body["logs"][0]["prompt"]
    # length and hash are the whole prompt's, as stored with it, not the preview's
    assert preview == {"text": long_prompt[:200], "truncated": True, "length": 500,
                       "hash": hashlib.sha256(long_prompt.encode()).hexdigest()[:12], "message_count": 1}
    whole = await (await api.get(f"/v1/logs/{body['logs'][0]['id']}")).json()
    assert whole["prompt"]["text"] == long_prompt and whole["prompt"]["length"] == 500
    assert whole["prompt"]["hash"] == preview["hash"]
