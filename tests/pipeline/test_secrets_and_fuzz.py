"""No secret reaches any file (database, WAL, spill); fuzzed control headers and API parameters
never cause a 5xx or lose an entry."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import database_bytes, flushed, replay_spill_now

CHAT = "/v1/chat/completions"
SECRETS = {
    "Authorization": "Bearer sk-proj-TOPSECRETbearer0001",
    "x-api-key": "sk-ant-TOPSECRETxapikey0002",
    "api-key": "azure-TOPSECRETapikey0003",
    "Cookie": "session=TOPSECRETcookie0004",
}
QUERY_SECRET = "TOPSECRETquery0005"


async def test_no_secret_in_database_wal_or_spill(proxy, db_path, failing_writes):
    for stream in (False, True):
        body = orjson.dumps({"model": "gpt-4o-mini", "stream": stream,
                             "messages": [{"role": "user", "content": "secret test"}]})
        resp = await proxy.post(f"{CHAT}?key={QUERY_SECRET}", data=body, headers=SECRETS)
        assert resp.status == 200
        await resp.read()
    await flushed(proxy)
    spilled = open(db_path + ".spill", "rb").read()
    assert spilled.count(b"\n") == 2  # both entries are in the spill file, not the database
    raw = database_bytes(db_path)
    for secret in [*(v.split()[-1].split("=")[-1] for v in SECRETS.values()), QUERY_SECRET]:
        assert secret.encode() not in raw, secret
    failing_writes["on"] = False
    await replay_spill_now(proxy)
    listed = await (await proxy.get("/v1/logs")).json()
    assert listed["total"] == 2
    raw = database_bytes(db_path)
    assert b"secret test" in raw
    for secret in [*(v.split()[-1].split("=")[-1] for v in SECRETS.values()), QUERY_SECRET]:
        assert secret.encode() not in raw, secret


HEADER_NAMES = ["x-debug", "x-portkey-debug", "helicone-omit-request", "x-llmlog-user", "x-llmlog-session",
                "x-llmlog-trace-id", "x-llmlog-parent-id", "x-llmlog-tags", "x-llmlog-environment",
                "x-llmlog-task-type", "x-llmlog-metadata"]
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_value, max_size=6))
async def test_fuzzed_control_headers_never_5xx_and_never_lose_an_entry(make_proxy, headers):
    client = await make_proxy()
    resp = await client.post(CHAT, data=b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"f"}]}',
                             headers=headers)
    await resp.read()
    assert resp.status in (200, 400), resp.status
    if resp.status == 200:
        await flushed(client)
        entry = await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")
        assert entry.status == 200
    await client.close()


PARAM_NAMES = ["limit", "offset", "cursor", "page_token", "start_date", "end_date", "from", "to", "model",
               "status", "status_code", "success_only", "failed_only", "min_cost", "max_cost", "min_tokens",
               "max_duration_ms", "tags", "q", "sort_by", "sort_order", "stream", "root_only", "bogus"]
param_value = st.one_of(st.text(max_size=40), st.integers(-10**20, 10**20).map(str),
                        st.floats(allow_nan=True).map(str), st.sampled_from(["-24h", "now", "true", "cost", "asc"]))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.lists(st.tuples(st.sampled_from(PARAM_NAMES), param_value), max_size=5),
       path=st.sampled_from(["/v1/logs", "/v1/logs/summary", "/v1/logs/stats"]))
async def test_fuzzed_logs_api_parameters_never_5xx(proxy, params, path):
    resp = await proxy.get(path, params=params)
    assert resp.status < 500, (path, params, await resp.text())
    if resp.status >= 400:
        assert "error" in await resp.json()


async def test_invalid_utf8_in_a_control_header_costs_nothing_but_that_byte(proxy):
    import asyncio
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"bytes"}]}'
    reader, writer = await asyncio.open_connection(proxy.server.host, proxy.server.port)
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"x-llmlog-user: caf\xe9-user\r\nX-Odd: \xff\xfe\r\nConnection: close\r\n"
                 b"x-llmlog-tags: ok,t\xe9g\r\nx-llmlog-session: s\xff\r\nAuthorization: Bearer sk-\xe9\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
    call_id = next(line.split(b":", 1)[1].strip().decode() for line in answer.split(b"\r\n")
                   if line.lower().startswith(b"x-llmlog-id:"))
    normal = await proxy.post(CHAT, data=body)  # written in the same batch as the odd call
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    assert entry["user_id"] == "caf\ufffd-user"
    assert entry["tags"] == ["ok", "t\ufffdg"] and entry["session_id"] == "s\ufffd"
    assert entry["status"] == "success" and entry["output_tokens"] > 0  # interpreted, not a fallback entry
    assert (await proxy.get(f"/v1/logs/{normal.headers['x-llmlog-id']}")).status == 200
