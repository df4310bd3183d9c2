"""Portkey's logs page (seed 003) over llmlog's logs API: manual feedback filtered and aggregated,
request type and thinking tokens on every entry, do-not-track as the document's `x-portkey-debug:
false`. Calls are made through the proxy to the fake upstream; feedback through POST
/v1/logs/{id}/feedback, as the page gives it."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from llmlog.cli import main
from tests.conftest import flushed

pytestmark = pytest.mark.backends

CHAT = "/v1/chat/completions"
KEY = "page-logs-key-0123456789"


async def chat(proxy, model: str, prompt: str, headers: dict | None = None) -> str:
    resp = await proxy.post(CHAT, json={"model": model, "messages": [{"role": "user", "content": prompt}]},
                            headers={"Authorization": "Bearer sk-page-test", **(headers or {})})
    assert resp.status == 200, await resp.text()
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def give_feedback(proxy, call_id: str, score: float, comment: str | None = None, headers=None) -> None:
    resp = await proxy.post(f"/v1/logs/{call_id}/feedback", json={"score": score, "comment": comment},
                            headers=headers or {})
    assert resp.status == 200, await resp.text()


async def get_json(proxy, url: str, params=None, headers=None) -> dict:
    resp = await proxy.get(url, params=params, headers=headers or {})
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.fixture
async def rated(proxy):
    """Six calls, four with feedback: two thumbs up (1), one thumbs down (0), one -0.5; two without."""
    ids = {
        "up_mini": await chat(proxy, "gpt-4o-mini", "first question"),
        "up_4o": await chat(proxy, "gpt-4o", "second question"),
        "down_mini": await chat(proxy, "gpt-4o-mini", "third question"),
        "neg_4o": await chat(proxy, "gpt-4o", "fourth question"),
        "none_mini": await chat(proxy, "gpt-4o-mini", "fifth question"),
        "none_4o": await chat(proxy, "gpt-4o", "sixth question"),
    }
    await flushed(proxy)
    await give_feedback(proxy, ids["up_mini"], 1)
    await give_feedback(proxy, ids["up_4o"], 1, "great")
    await give_feedback(proxy, ids["down_mini"], 0, "wrong answer")
    await give_feedback(proxy, ids["neg_4o"], -0.5)
    proxy.ids = ids
    return proxy


async def listed(proxy, **params) -> set[str]:
    body = await get_json(proxy, "/v1/logs", params=params)
    names = {call_id: name for name, call_id in proxy.ids.items()}
    found = {names[entry["id"]] for entry in body["logs"]}
    assert body["total"] == len(found)
    return found


async def test_feedback_filters_select_exactly_the_rated_calls(rated):
    assert await listed(rated, feedback="true") == {"up_mini", "up_4o", "down_mini", "neg_4o"}
    assert await listed(rated, feedback="false") == {"none_mini", "none_4o"}
    assert await listed(rated, min_feedback_score="1") == {"up_mini", "up_4o"}  # thumbs up
    assert await listed(rated, max_feedback_score="0") == {"down_mini", "neg_4o"}  # thumbs down and below
    assert await listed(rated, min_feedback_score="-0.5", max_feedback_score="0") == {"down_mini", "neg_4o"}
    assert await listed(rated, min_feedback_score="-1", max_feedback_score="-0.1") == {"neg_4o"}
    assert await listed(rated, feedback="false", min_feedback_score="0") == set()
    assert await listed(rated, feedback="true", model="gpt-4o") == {"up_4o", "neg_4o"}
    # sorted and paged like any other filter
    every = (await get_json(rated, "/v1/logs"))["logs"]
    oldest_first = [e["id"] for e in sorted(every, key=lambda e: (e["started_at"], e["id"]))
                    if e["feedback"] is not None]  # calls in one millisecond go by id
    body = await get_json(rated, "/v1/logs", params={"feedback": "true", "limit": "3", "sort_order": "asc"})
    assert [e["id"] for e in body["logs"]] == oldest_first[:3]
    assert body["pagination"]["has_more"] is True and len(oldest_first) == 4
    entry = next(e for e in every if e["id"] == rated.ids["down_mini"])
    assert entry["feedback"]["score"] == 0 and entry["feedback"]["comment"] == "wrong answer"


async def test_summary_aggregates_feedback(rated):
    body = await get_json(rated, "/v1/logs/summary")
    assert body["summary"]["total_calls"] == 6
    assert body["summary"]["calls_with_feedback"] == 4
    assert body["summary"]["avg_feedback_score"] == 0.375  # (1 + 1 + 0 - 0.5) / 4
    assert body["feedback"] == {
        "calls_with_feedback": 4, "calls_without_feedback": 2, "feedback_rate": 0.6667, "avg_feedback_score": 0.375,
        "by_score": [{"score": 1, "calls": 2}, {"score": 0, "calls": 1}, {"score": -0.5, "calls": 1}]}
    only_rated = await get_json(rated, "/v1/logs/summary", params={"feedback": "true", "model": "gpt-4o"})
    assert only_rated["summary"]["total_calls"] == 2
    assert only_rated["feedback"] == {
        "calls_with_feedback": 2, "calls_without_feedback": 0, "feedback_rate": 1.0, "avg_feedback_score": 0.25,
        "by_score": [{"score": 1, "calls": 1}, {"score": -0.5, "calls": 1}]}
    unrated = await get_json(rated, "/v1/logs/summary", params={"feedback": "false"})
    assert unrated["feedback"] == {"calls_with_feedback": 0, "calls_without_feedback": 2, "feedback_rate": 0.0,
                                   "avg_feedback_score": None, "by_score": []}


async def test_stats_carry_feedback_per_group(rated):
    body = await get_json(rated, "/v1/logs/stats", params={"group_by": "model"})
    groups = {g["key"]: (g["count"], g["feedback_count"], g["avg_feedback_score"]) for g in body["groups"]}
    assert groups == {"gpt-4o-mini": (3, 2, 0.5), "gpt-4o": (3, 2, 0.25)}
    assert (body["totals"]["feedback_count"], body["totals"]["avg_feedback_score"]) == (4, 0.375)
    hourly = await get_json(rated, "/v1/logs/stats", params={"group_by": "hour", "start_date": "-3h",
                                                             "min_feedback_score": "1"})
    assert sum(g["feedback_count"] for g in hourly["groups"]) == 2
    assert hourly["totals"]["avg_feedback_score"] == 1.0


async def test_the_cli_takes_the_feedback_filters(rated, db_path):
    result = CliRunner().invoke(main, ["logs", "--db", db_path, "--json", "--feedback", "--max-feedback-score", "0"])
    assert result.exit_code == 0, result.output
    assert {e["id"] for e in orjson.loads(result.output)["logs"]} == {rated.ids["down_mini"], rated.ids["neg_4o"]}
    result = CliRunner().invoke(main, ["logs", "--db", db_path, "--json", "--no-feedback"])
    assert {e["id"] for e in orjson.loads(result.output)["logs"]} == {rated.ids["none_mini"], rated.ids["none_4o"]}
    result = CliRunner().invoke(main, ["summary", "--db", db_path])
    assert result.exit_code == 0, result.output
    assert "feedback    4 calls, avg score 0.38 (2 x 1, 1 x 0, 1 x -0.5)" in result.output


@pytest.mark.parametrize("params, param", [
    ({"feedback": "sometimes"}, "feedback"),
    ({"min_feedback_score": "high"}, "min_feedback_score"),
    ({"max_feedback_score": "nan"}, "max_feedback_score"),
    ({"min_feedback_score": "inf"}, "min_feedback_score"),
    ({"min_feedback_score": "2", "max_feedback_score": "1"}, "min_feedback_score"),
    ({"feedback_score": "1"}, "feedback_score"),
])
@pytest.mark.parametrize("path", ["/v1/logs", "/v1/logs/summary", "/v1/logs/stats?group_by=model"])
async def test_bad_feedback_parameters_are_400_naming_them(proxy, params, param, path):
    resp = await proxy.get(path, params=params)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"


async def test_the_feedback_filters_need_the_logs_key(make_proxy):
    proxy = await make_proxy(logs_api__api_keys=[KEY])
    call_id = await chat(proxy, "gpt-4o-mini", "guarded question")
    await flushed(proxy)
    for path in ("/v1/logs?feedback=true", "/v1/logs/summary?min_feedback_score=0", "/v1/logs/stats?group_by=model"):
        assert (await proxy.get(path)).status == 401
    auth = {"Authorization": f"Bearer {KEY}"}
    await give_feedback(proxy, call_id, 1, headers=auth)
    body = await get_json(proxy, "/v1/logs", params={"feedback": "true"}, headers=auth)
    assert [e["id"] for e in body["logs"]] == [call_id]


async def test_entries_carry_request_type_and_thinking_tokens(proxy):
    chat_id = await chat(proxy, "gpt-4o-mini", "what type am I")
    resp = await proxy.post(CHAT, json={"model": "o3-mini", "reasoning_effort": "high",
                                        "messages": [{"role": "user", "content": "think hard"}]})
    thinking_id = resp.headers["x-llmlog-id"]
    resp = await proxy.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "vector me"})
    embed_id = resp.headers["x-llmlog-id"]
    resp = await proxy.post("/v1/images/generations", json={"model": "gpt-image-1", "prompt": "a red square"})
    image_id = resp.headers["x-llmlog-id"]
    resp = await proxy.get("/v1/models")
    models_id = resp.headers["x-llmlog-id"]
    await flushed(proxy)
    body = await get_json(proxy, "/v1/logs")
    types = {e["id"]: (e["request_type"], e["reasoning_tokens"]) for e in body["logs"]}
    # tokens a provider did not report (embeddings, images, a model list) read as 0, as before
    assert types == {chat_id: ("chat", 0), thinking_id: ("chat", 64), embed_id: ("embedding", 0),
                     image_id: ("image", 0), models_id: ("other", 0)}
    assert (await get_json(proxy, f"/v1/logs/{chat_id}"))["request_type"] == "chat"


async def test_do_not_track_as_portkeys_debug_header(proxy):
    """The document: `x-portkey-debug: false` keeps tokens, cost and latency, not the content."""
    call_id = await chat(proxy, "gpt-4o-mini", "private words here", headers={"x-portkey-debug": "false"})
    await flushed(proxy)
    entry = await get_json(proxy, f"/v1/logs/{call_id}")
    assert entry["do_not_track"] is True and entry["has_content"] is False
    assert (entry["input_tokens"], entry["output_tokens"]) == (12, 4)  # the fake: 9 + words in, Echo + words out
    assert entry["cost_usd"] > 0 and entry["duration_ms"] is not None
    assert "request" not in entry and "private words" not in orjson.dumps(entry).decode()
