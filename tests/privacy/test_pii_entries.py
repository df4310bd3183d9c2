"""Each call's `pii` counts, made through the proxy and read through the logs API, and the `pii=`
filter, on every store backend."""

from __future__ import annotations

import pytest

from tests.conftest import CHAT, chat_body, flushed

pytestmark = pytest.mark.backends

CARD = "4111 1111 1111 1111"  # a Visa test number: Luhn-valid
PROMPTS = {
    "both": f"mail ana.lopez@example.com and charge {CARD} today",
    "phone": "call me on +44 20 7946 0958 please",
    "plain": "what is the capital of France",
}


async def _calls(proxy) -> dict[str, str]:
    ids = {}
    for name, prompt in PROMPTS.items():
        resp = await proxy.post(CHAT, data=chat_body(prompt))
        assert resp.status == 200
        ids[name] = resp.headers["x-llmlog-id"]
    resp = await proxy.post(CHAT, data=chat_body(PROMPTS["both"]), headers={"x-debug": "false"})
    ids["untracked"] = resp.headers["x-llmlog-id"]
    await flushed(proxy)
    return ids


async def _ids(proxy, **params) -> set[str]:
    resp = await proxy.get("/v1/logs", params={"limit": "100", **params})
    assert resp.status == 200, await resp.text()
    return {entry["id"] for entry in (await resp.json())["logs"]}


async def test_each_call_counts_the_personal_data_in_its_prompt_and_answer(proxy):
    ids = await _calls(proxy)
    pii = {name: (await (await proxy.get(f"/v1/logs/{call_id}")).json())["pii"] for name, call_id in ids.items()}
    # the fake upstream echoes the prompt: each value is counted in the prompt and again in the answer
    assert pii == {"both": {"email": 2, "card": 2}, "phone": {"phone": 2}, "plain": None,
                   "untracked": None}  # do-not-track: its text is not read at all
    listed = {e["id"]: e["pii"] for e in (await (await proxy.get("/v1/logs")).json())["logs"]}
    assert listed[ids["both"]] == {"email": 2, "card": 2}


async def test_the_list_filters_by_personal_data_found_and_by_kind(proxy):
    ids = await _calls(proxy)
    assert await _ids(proxy, pii="true") == {ids["both"], ids["phone"]}
    assert await _ids(proxy, pii="false") == {ids["plain"], ids["untracked"]}
    assert await _ids(proxy, pii="card") == {ids["both"]}
    assert await _ids(proxy, pii="phone,email") == {ids["both"], ids["phone"]}
    assert await _ids(proxy, pii="ssn") == set()
    assert await _ids(proxy, pii="card", model="gpt-4o-mini") == {ids["both"]}
    resp = await proxy.get("/v1/logs", params={"pii": "email,passport"})
    assert resp.status == 400 and "pii" in (await resp.json())["error"]["message"]
    assert "'passport'" in (await resp.json())["error"]["message"]


async def test_nothing_is_counted_when_detection_is_off(make_proxy):
    proxy = await make_proxy(privacy__detect_pii=False)
    resp = await proxy.post(CHAT, data=chat_body(PROMPTS["both"]))
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["pii"] is None and entry["request"]["body"]["messages"][0]["content"] == PROMPTS["both"]
