"""The calls with personal data in `GET /v1/logs/summary` (in all and per kind) and `GET /v1/logs/stats`
(per group and in total), for calls made through the proxy, on every store backend."""

from __future__ import annotations

import pytest

from tests.conftest import CHAT, chat_body, flushed

pytestmark = pytest.mark.backends

CARD = "4111 1111 1111 1111"  # Luhn-valid
# (prompt, model, tags): the fake upstream echoes the prompt, so each value is found twice in a call
CALLS = {
    "two_mails_card": (f"write to ana@example.com and bo@example.org, charge {CARD}", "gpt-4o-mini", "billing"),
    "mail": ("ping carla@example.net", "gpt-4o", "billing,support"),
    "phone": ("call me on +44 20 7946 0958 please", "gpt-4o", "support"),
    "plain": ("what is the capital of France", "gpt-4o-mini", "support"),
}


@pytest.fixture
async def called(proxy):
    for prompt, model, tags in CALLS.values():
        resp = await proxy.post(CHAT, data=chat_body(prompt, model=model), headers={"x-llmlog-tags": tags})
        assert resp.status == 200
    # do-not-track: its text is never read, so it is no call with personal data
    await proxy.post(CHAT, data=chat_body(CALLS["mail"][0]), headers={"x-debug": "false"})
    await flushed(proxy)
    return proxy


async def _get(proxy, path: str, **params) -> dict:
    resp = await proxy.get(path, params=params)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_the_summary_counts_calls_with_personal_data_by_kind(called):
    body = await _get(called, "/v1/logs/summary")
    assert body["summary"]["total_calls"] == 5
    # calls, not values: two addresses and their echo are one call under email
    assert body["pii"] == {"calls": 3, "by_kind": {"email": 2, "card": 1, "phone": 1}}
    assert list(body["pii"]["by_kind"]) == ["email", "card", "phone"]  # most calls first, then by name


@pytest.mark.parametrize("params, expected", [
    ({"model": "gpt-4o"}, {"calls": 2, "by_kind": {"email": 1, "phone": 1}}),
    ({"tags": "billing"}, {"calls": 2, "by_kind": {"email": 2, "card": 1}}),
    ({"pii": "card"}, {"calls": 1, "by_kind": {"email": 1, "card": 1}}),
    ({"pii": "phone,card"}, {"calls": 2, "by_kind": {"card": 1, "email": 1, "phone": 1}}),
    ({"pii": "false"}, {"calls": 0, "by_kind": {}}),
    ({"q": "France"}, {"calls": 0, "by_kind": {}}),
    ({"start_date": "-1h", "end_date": "-30m"}, {"calls": 0, "by_kind": {}}),
])
async def test_the_summary_counts_them_under_its_filter_and_window(called, params, expected):
    assert (await _get(called, "/v1/logs/summary", **params))["pii"] == expected


async def test_the_pii_filter_selects_the_calls_summed(called):
    summary = (await _get(called, "/v1/logs/summary", pii="email"))["summary"]
    assert summary["total_calls"] == 2
    assert (await _get(called, "/v1/logs/summary", pii="true"))["summary"]["total_calls"] == 3
    stats = await _get(called, "/v1/logs/stats", group_by="model", pii="false")
    assert stats["totals"]["count"] == 2 and stats["totals"]["pii_count"] == 0
    resp = await called.get("/v1/logs/summary", params={"pii": "passport"})
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "pii"


async def test_stats_count_calls_with_personal_data_per_group_and_in_total(called):
    by_model = await _get(called, "/v1/logs/stats", group_by="model")
    assert {g["key"]: (g["count"], g["pii_count"]) for g in by_model["groups"]} == {
        "gpt-4o-mini": (3, 1), "gpt-4o": (2, 2)}
    assert by_model["totals"]["pii_count"] == 3
    # a call with two tags is in both groups, and once in the totals
    by_tag = await _get(called, "/v1/logs/stats", group_by="tag")
    assert {g["key"]: g["pii_count"] for g in by_tag["groups"]} == {"billing": 2, "support": 2, None: 0}
    assert by_tag["totals"]["pii_count"] == 3
    hourly = await _get(called, "/v1/logs/stats", group_by="hour", start_date="-2h")
    assert sum(g["pii_count"] for g in hourly["groups"]) == 3 == hourly["totals"]["pii_count"]
