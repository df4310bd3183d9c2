"""The side panel's replay, usage and timing (issue 19), in a real browser: an Anthropic call made
through llmlog's `/anthropic` provider is replayed from its panel with an edited prompt and a pasted
key; the fake Anthropic receives it, the new call is logged with its answer beside the original, and
the key is nowhere in the database or the page's storage. The panel shows the cost per bucket with its
price source, upstream against total time, and a streamed call's chunk timeline, each as the API
serves it.

Needs Debian chromium and chromium-driver like tests/ui/test_ui_browser.py (required under CI=true).
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal

import orjson
from selenium.webdriver.common.by import By

from tests.api.test_logs_proxy_path import (  # noqa: F401 (fixtures)
    ANTHROPIC_KEY,
    CLAUDE,
    claude_call,
    providers_proxy,
    providers_server,
)
from tests.conftest import database_bytes, flushed
from tests.fakes.fake_providers import ANTHROPIC_TEXT
from tests.ui.test_ui_browser import browser, screenshot, wait  # noqa: F401 (the browser fixture; skips without chromium)

EDITED = "hello again, in one line"
REPLY = "A second, different fake answer."


def fixed(v: float, places: int) -> str:
    """JavaScript's `toFixed`: the exact binary value rounded, a tie upwards (Python's format would
    round a tie such as 1.25 to even)."""
    return str(Decimal(v).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def page_ms(v: float) -> str:
    """timing.js's figure: one decimal below 10 ms, else whole ms, or seconds from 1 s."""
    return f"{fixed(v, 1)} ms" if v < 10 else f"{fixed(v / 1000, 2)} s" if v >= 1000 else f"{fixed(v, 0)} ms"


def page_cost(v: float) -> str:
    """dom.js fmtCost: small costs keep their digits, larger ones read as money."""
    return "$" + fixed(v, 10).rstrip("0") if v < 0.01 else "$" + fixed(v, 4)


def text_of(driver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


async def test_replay_of_an_anthropic_call_reaches_anthropic_with_a_key_kept_nowhere(
        providers_proxy, providers_server, db_path, browser, tmp_path):  # noqa: F811
    client = await providers_proxy()
    original = await claude_call(client, "hello claude")
    resp = await client.post("/anthropic/v1/messages", headers={"x-api-key": "sk-ant-original",
                                                                "anthropic-version": "2023-06-01"},
                             json={"model": CLAUDE, "max_tokens": 64, "stream": True,
                                   "messages": [{"role": "user", "content": "stream it"}]})
    await resp.read()
    streamed = resp.headers["x-llmlog-id"]
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{original}")).json()
    stream_entry = await (await client.get(f"/v1/logs/{streamed}")).json()
    events = (await (await client.get(f"/v1/logs/{streamed}/events")).json())["events"]
    providers_server.fake.replies[EDITED] = REPLY
    base = str(client.make_url("")).rstrip("/")
    sent_before = len(providers_server.fake.received)

    def drive() -> str:
        browser.get(f"{base}/ui/logs/{original}")
        wait(browser, lambda d: d.find_elements(By.ID, "replay-body"))
        # the curl keeps the provider's prefix and its key header
        curl = text_of(browser, "#curl")
        assert f"'{base}/anthropic/v1/messages'" in curl
        assert "'x-api-key: $YOUR_API_KEY'" in curl and "'anthropic-version: 2023-06-01'" in curl
        assert "Authorization" not in curl
        # cost per bucket at its rate, with the price source; upstream against total time
        assert text_of(browser, "#panel strong.cost") == page_cost(entry["cost_usd"]) == "$0.0112"
        assert text_of(browser, "#price-source") == entry["pricing_version"]
        assert text_of(browser, "#usage-source") == "the provider's usage"
        shown = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                 for tr in browser.find_elements(By.CSS_SELECTOR, "#cost-buckets tbody tr")]
        assert shown == [[b["bucket"].replace("_", " "), f"{b['tokens']:,}", "$" + b["usd_per_million"],
                          page_cost(b["cost_usd"])] for b in entry["cost_breakdown"]["buckets"]]
        assert shown[0] == ["input", "1,200", "$3", "$0.0036"]
        assert text_of(browser, "#time-total") == page_ms(entry["duration_ms"])
        assert text_of(browser, "#time-upstream") == page_ms(entry["upstream_duration_ms"])
        assert text_of(browser, "#time-ttfb") == page_ms(entry["ttfb_ms"])

        # edit the prompt, paste a key, send
        area = browser.find_element(By.ID, "replay-body")
        body = orjson.loads(area.get_attribute("value"))
        assert body == entry["request"]["body"]
        body["messages"][0]["content"] = EDITED
        area.clear()
        area.send_keys(orjson.dumps(body).decode())
        browser.find_element(By.ID, "replay-key").send_keys(ANTHROPIC_KEY)
        browser.find_element(By.ID, "replay-send").click()
        wait(browser, lambda d: d.find_elements(By.ID, "replay-answer"))
        assert REPLY in text_of(browser, "#replay-answer") and "HTTP 200" in text_of(browser, "#replay-answer")
        assert "".join(ANTHROPIC_TEXT) in text_of(browser, "#replay-original")
        assert browser.find_element(By.ID, "replay-key").get_attribute("value") == ""
        kept = browser.execute_script("return JSON.stringify([location.href, {...sessionStorage}, {...localStorage}])")
        assert ANTHROPIC_KEY not in kept
        replay = text_of(browser, "#replay-id")
        browser.execute_script("document.getElementById('replay-result').scrollIntoView()")
        screenshot(browser, tmp_path, "replay")
        browser.execute_script("document.getElementById('panel').scrollTop ="
                               " document.getElementById('cost-buckets').closest('section').offsetTop - 60")
        screenshot(browser, tmp_path, "panel")

        # the replay's own entry opens from its link
        browser.find_element(By.ID, "replay-id").click()
        wait(browser, lambda d: d.current_url.endswith(f"/ui/logs/{replay}")
             and replay in text_of(d, "#panel-body") and d.find_elements(By.ID, "replay-body"))

        # a streamed call: its chunks on a timeline, as many as the events API lists
        browser.get(f"{base}/ui/logs/{streamed}")
        wait(browser, lambda d: d.find_elements(By.ID, "chunk-summary"))
        offsets = [ev["offset_ms"] for ev in events]
        assert len(browser.find_elements(By.CSS_SELECTOR, ".chunk-strip .tick")) == len(events) > 0
        assert text_of(browser, "#chunk-summary").startswith(
            f"{len(events)} chunks · first +{page_ms(min(offsets))} · last +{page_ms(max(offsets))}")
        assert text_of(browser, "#time-upstream") == page_ms(stream_entry["upstream_duration_ms"])
        return replay

    replay = await asyncio.to_thread(drive)
    await flushed(client)
    # the fake Anthropic got the edited body, at its own path, with the pasted key
    (sent,) = providers_server.fake.received[sent_before:]
    assert sent["path"] == "/v1/messages" and orjson.loads(sent["body"]) == body_with(entry, EDITED)
    assert {k.lower(): v for k, v in sent["headers"]}["x-api-key"] == ANTHROPIC_KEY
    logged = await (await client.get(f"/v1/logs/{replay}")).json()
    assert (logged["provider"], logged["proxy_path"], logged["output"]["text"]) == (
        "anthropic", "/anthropic/v1/messages", REPLY)
    assert ["x-api-key", "[redacted]"] in logged["request"]["headers"]
    assert ANTHROPIC_KEY.encode() not in database_bytes(db_path)

    # a call without a body (GET /anthropic/v1/models) replays without one, not "not valid JSON"
    listed = await client.get("/anthropic/v1/models", headers={"x-api-key": "sk-ant-original",
                                                               "anthropic-version": "2023-06-01"})
    await listed.read()
    await flushed(client)

    def replay_get() -> str:
        browser.get(f"{base}/ui/logs/{listed.headers['x-llmlog-id']}")
        wait(browser, lambda d: d.find_elements(By.ID, "replay-body"))
        assert browser.find_element(By.ID, "replay-body").get_attribute("value") == ""
        browser.find_element(By.ID, "replay-key").send_keys(ANTHROPIC_KEY)
        browser.find_element(By.ID, "replay-send").click()
        wait(browser, lambda d: d.find_elements(By.ID, "replay-id") or "not valid JSON" in text_of(d, "#replay-status"))
        return text_of(browser, "#replay-id")

    again = await asyncio.to_thread(replay_get)
    await flushed(client)
    logged = await (await client.get(f"/v1/logs/{again}")).json()
    assert (logged["method"], logged["proxy_path"]) == ("GET", "/anthropic/v1/models")

    # with the Anthropic provider gone from the config, the panel says so and offers no replay
    without = await providers_proxy(anthropic=False)
    gone = str(without.make_url("")).rstrip("/")

    def provider_gone() -> str:
        browser.get(f"{gone}/ui/logs/{original}")
        wait(browser, lambda d: d.find_elements(By.ID, "replay-off"))
        assert not browser.find_elements(By.ID, "replay-send")
        return text_of(browser, "#replay-off")

    assert 'The provider "anthropic" is no longer configured' in await asyncio.to_thread(provider_gone)


def body_with(entry: dict, prompt: str) -> dict:
    body = orjson.loads(orjson.dumps(entry["request"]["body"]))
    body["messages"][0]["content"] = prompt
    return body
