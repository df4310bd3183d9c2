"""Property-based fuzzing of every logs-API route and every parameter it takes (issue 14): NUL and
control characters, huge and negative numbers, 1e308, years 1 and 9999 with offsets of ±14:00,
invalid UTF-8 and lone surrogates sent percent-encoded, 10,000-character strings, empty values.
Never a 5xx; every 400 is the API's error shape naming the parameter; the server stays healthy."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from llmlog.proxy.api.entries import EVENTS_PARAMS
from llmlog.proxy.api.export import EXPORT_PARAMS
from llmlog.proxy.query.aggregates import STATS_PARAMS
from llmlog.proxy.query.params import FILTER_PARAMS, PAGE_PARAMS
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

NOW = int(time.time() * 1000)
MAX_LINE = 8190  # aiohttp refuses a longer request line itself (a plain 400, before any handler)


def _names(params) -> list[str]:
    return [name for p in params for name in (p.name, *p.aliases)]


# route -> the query parameters it accepts ("bogus" checks that unknown ones are named too)
GET_ROUTES = {
    "/v1/logs": _names(FILTER_PARAMS + PAGE_PARAMS),
    "/v1/logs/summary": _names(FILTER_PARAMS),
    "/v1/logs/stats": _names(FILTER_PARAMS + STATS_PARAMS),
    "/v1/logs/export": _names(FILTER_PARAMS + EXPORT_PARAMS),
    "/v1/logs/{id}": [],
    "/v1/logs/{id}/hierarchy": [],
    "/v1/logs/{id}/events": _names(EVENTS_PARAMS),
    "/v1/logs/exports": [],
}
FUZZED = {*GET_ROUTES, "/v1/logs/exports/{export_id}", "/v1/logs/exports/{export_id}/start",
          "/v1/logs/exports/{export_id}/download", "/v1/logs/exports/{export_id}/file",
          "/v1/logs/{call_id}/feedback", "/v1/logs/user/{user_id}"}

SPECIAL = [
    "", " ", "\x00", "a\x00b", "\x01\x02\x1f\x7f", "\t", "\r\n", "-1", "-0", "0", "1", "1000", "1001",
    "-9223372036854775809", "9223372036854775807", "9223372036854775808", "4611686018427387905", "9" * 400,
    "1e308", "-1e308", "1e309", "1e-320", "nan", "NaN", "inf", "-inf", "0x10", "1_000",
    "0001-01-01", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-14:00",
    "0001-01-08T00:00:00+14:00", "9999-12-31", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59.999999-12:00", "1970-01-01T00:00:00+24:00",
    "-1e300d", "-99999999999999w", "-106751991167d", "-0s", "-1.5h", "now", "NOW", "-" + "9" * 400 + "d",
    "x" * 10_000, "é", "💥", "\u2028", "\ufeff", "١٢٣", "true", "false", "yes", "asc", "desc", "cost",
    "tokens", "day", "week", "5m", "model", "tag", "previous", "csv", "jsonl", ",,,", "success", "error",
    "id,prompt_text", "created_at", "request_tokens", "%", "{}", "[]", "'", '"', "\\",
]
RAW = ["%ED%A0%80", "%ED%BF%BF", "%FF", "%C0%80", "%00", "%", "%zz", "%F4%90%80%80", "%E2%82", "+"]
piece = st.one_of(
    st.sampled_from(SPECIAL).map(lambda t: quote(t, safe="")),
    st.sampled_from(RAW),
    st.text(max_size=20).map(lambda t: quote(t, safe="", errors="surrogatepass")),
    st.integers(-2**70, 2**70).map(str),
    st.floats().map(repr).map(lambda t: quote(t, safe="")),
)
raw_value = st.lists(piece, min_size=1, max_size=3).map("".join)


def _shape(status: int, body: bytes, *, param_expected: bool) -> dict:
    error = orjson.loads(body)["error"]
    assert set(error) == {"message", "type", "param"} and isinstance(error["message"], str), error
    if param_expected and status == 400:
        assert isinstance(error["param"], str) and error["param"], error
    return error


@pytest.fixture
async def app_with_data(make_proxy, db_path):
    seed(db_path, [make_entry(NOW - 1000 * i, user_id="u1", tags=("a", "b"), trace_id="t1",
                              events=[{"event": "message", "data": "{}", "t_ms": 1}], stream=1)
                   for i in range(3)])
    client = await make_proxy()
    listed = await (await client.get("/v1/logs")).json()
    return client, [e["id"] for e in listed["logs"]]


async def _healthy(client) -> None:
    assert (await client.get("/healthz")).status == 200


def _canonical(params) -> list[str]:
    return [p.name for p in params]


# a sweep sends every value class to every parameter alone, on top of a valid base (stats needs a
# group_by), so an early invalid parameter never hides a later one: random combinations may not
# reach a one-in-thousands pair such as q=%00 on the export route
SWEEP = [
    ("/v1/logs", {}, _canonical(FILTER_PARAMS + PAGE_PARAMS)),
    ("/v1/logs/summary", {}, _canonical(FILTER_PARAMS)),
    ("/v1/logs/stats", {"group_by": "model", "compare": "previous"}, _canonical(FILTER_PARAMS + STATS_PARAMS)),
    ("/v1/logs/stats", {"group_by": "week"}, ["start_date", "end_date"]),
    ("/v1/logs/export", {}, _canonical(FILTER_PARAMS + EXPORT_PARAMS)),
    ("/v1/logs/export", {"format": "csv"}, ["start_date", "end_date", "q"]),
    ("/v1/logs/{id}/events", {}, _canonical(EVENTS_PARAMS)),
]


async def _check_get(client, route: str, url: URL, pairs) -> None:
    resp = await client.session.get(client.make_url("/").join(url))
    body = await resp.read()  # an export cut mid-stream raises here
    assert resp.status < 500, (route, pairs, body[:300])
    if len(str(url)) > MAX_LINE:
        assert resp.status in (200, 400, 404, 414), resp.status  # refused by aiohttp's parser, or fine
    elif resp.status >= 400:
        _shape(resp.status, body, param_expected=bool(pairs) and "{id}" not in route)
    elif route == "/v1/logs/export":
        assert b'"export_error"' not in body and b"# error:" not in body, body[-300:]


async def test_sweep_every_parameter_with_every_value_class(app_with_data):
    client, ids = app_with_data
    values = [quote(v, safe="") for v in SPECIAL] + RAW
    checks = []
    for route, base, names in SWEEP:
        path = route.replace("{id}", ids[0])
        for name in names:
            for value in values:
                pairs = [*((k, v) for k, v in base.items() if k != name), (name, value)]
                url = URL(path + "?" + "&".join(f"{k}={v}" for k, v in pairs), encoded=True)
                checks.append(_check_get(client, route, url, pairs))
    for start in range(0, len(checks), 64):  # a few dozen at a time: quick, and the server stays in step
        await asyncio.gather(*checks[start:start + 64])
    await _healthy(client)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_every_get_route_and_parameter_never_5xx(app_with_data, data):
    client, ids = app_with_data
    route = data.draw(st.sampled_from(sorted(GET_ROUTES)), "route")
    names = GET_ROUTES[route] + ["bogus"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(names), raw_value), max_size=4), "params")
    path = route.replace("{id}", data.draw(st.sampled_from(ids[:1]) | raw_value, "id"))
    query = "&".join(f"{quote(name)}={value}" for name, value in pairs)
    url = URL(path + ("?" + query if query else ""), encoded=True)
    await _check_get(client, route, url, pairs)
    await _healthy(client)


json_value = st.one_of(
    st.sampled_from(SPECIAL), st.sampled_from(["\ud800", "a\udfffb"]), st.text(max_size=20),
    st.integers(-2**70, 2**70), st.floats(), st.booleans(), st.none(),
    st.lists(st.sampled_from(SPECIAL), max_size=3), st.just({"nested": 1}),
)
created_at = st.dictionaries(st.sampled_from(["gte", "gt", "lte", "lt", "eq"]), json_value, max_size=2)
filter_names = _names(FILTER_PARAMS) + ["bogus"]
job_body = st.fixed_dictionaries({}, optional={
    "filters": st.one_of(st.dictionaries(st.sampled_from(filter_names), json_value, max_size=4),
                         st.builds(lambda c: {"created_at": c}, created_at), json_value),
    "fields": st.one_of(st.lists(st.sampled_from(SPECIAL + ["id", "model", "prompt_text"]), max_size=3), json_value),
    "requested_data": st.lists(st.sampled_from(["id", "ai_model", "cost_usd", "request", "cost", "cost_currency",
                                                "prompt_slug", "x" * 10_000]), max_size=3),
    "format": json_value | st.sampled_from(["jsonl", "csv"]),
    "limit": json_value | st.integers(-2, 12),
    "offset": json_value | st.integers(-2, 12),
    "workspace_id": json_value,
    "description": json_value,
    "bogus": json_value,
})
feedback_body = st.fixed_dictionaries({}, optional={"score": json_value, "comment": json_value, "bogus": json_value})


def _encoded(body) -> bytes:
    # the stdlib writes huge integers, Infinity/NaN and lone surrogates (as \ud800), which orjson won't
    return json.dumps(body).encode() if not isinstance(body, bytes) else body


async def _wait(client, job_id: str) -> dict:
    for _ in range(250):
        job = await (await client.get(f"/v1/logs/exports/{job_id}")).json()
        if job["status"] not in ("draft", "running"):
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"export {job_id} did not finish")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(job_body, json_value, st.sampled_from([b"", b"\x00", b"{", b"\xff\xfe", b"[]"])),
       query=st.lists(st.tuples(st.sampled_from(["bogus", "format"]), raw_value), max_size=1))
async def test_export_jobs_create_start_get_download_never_5xx(app_with_data, body, query):
    client, _ = app_with_data
    qs = "&".join(f"{n}={v}" for n, v in query)
    url = client.make_url("/").join(URL("/v1/logs/exports" + ("?" + qs if qs else ""), encoded=True))
    resp = await client.session.post(url, data=_encoded(body), headers={"Content-Type": "application/json"})
    raw = await resp.read()
    assert resp.status < 500, (body, raw[:300])
    if len(str(url)) > MAX_LINE:  # refused by aiohttp's parser before any handler
        assert resp.status in (400, 414), resp.status
        return
    if resp.status != 201:
        _shape(resp.status, raw, param_expected=True)
        return
    job = orjson.loads(raw)
    started = await client.post(f"/v1/logs/exports/{job['id']}/start")
    assert started.status == 202, await started.text()
    done = await _wait(client, job["id"])
    assert done["status"] == "success", done  # a failure here is an error the parser let through
    download = await client.get(f"/v1/logs/exports/{job['id']}/download")
    assert download.status == 200
    file = await client.get(URL((await download.json())["url"]).path)
    assert file.status == 200
    await file.read()
    await _healthy(client)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_feedback_user_erasure_and_job_ids_never_5xx(app_with_data, data):
    client, ids = app_with_data
    ident = data.draw(st.sampled_from(ids[:1]) | raw_value, "id")
    kind = data.draw(st.sampled_from(["feedback", "delete_user", "job_get", "job_start", "job_download", "job_file"]))
    base = client.make_url("/")
    if kind == "feedback":
        body = data.draw(feedback_body | json_value, "body")
        url = base.join(URL(f"/v1/logs/{ident}/feedback", encoded=True))
        resp = await client.session.post(url, data=_encoded(body), headers={"Content-Type": "application/json"})
    elif kind == "delete_user":
        resp = await client.session.delete(base.join(URL(f"/v1/logs/user/{ident}", encoded=True)))
    else:
        suffix = {"job_get": "", "job_start": "/start", "job_download": "/download", "job_file": "/file"}[kind]
        method = client.session.post if kind == "job_start" else client.session.get
        resp = await method(base.join(URL(f"/v1/logs/exports/{ident}{suffix}", encoded=True)))
    raw = await resp.read()
    assert resp.status < 500, (kind, ident, raw[:300])
    if resp.status >= 400 and len(ident) < MAX_LINE - 100:
        _shape(resp.status, raw, param_expected=True)
    await _healthy(client)


async def test_the_fuzzing_covers_every_logs_api_route(proxy):
    document = await (await proxy.get("/openapi.json")).json()
    routes = {path for path in document["paths"] if path.startswith("/v1/logs")}
    normalised = {p.replace("{call_id}", "{id}") for p in routes}
    covered = {p.replace("{call_id}", "{id}") for p in FUZZED}
    assert normalised <= covered, normalised - covered
