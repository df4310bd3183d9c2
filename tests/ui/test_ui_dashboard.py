"""The Dashboard view in a real browser: its totals are the API summary's figures for the same window
and filters, a filter set on the table narrows it, its breakdown and feedback summary count the calls
made here.

Regenerate its screenshots with:
    LLMLOG_SCREENSHOTS=docs/screenshots python -m pytest tests/ui/test_ui_dashboard.py
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from selenium.webdriver.common.by import By

from tests.conftest import flushed
from tests.ui.test_ui_browser import browser, call, screenshot, wait  # noqa: F401 (browser: a fixture)

WINDOW = "-24h"


# the page's formatters (dom.js, dashboard.js), so a card's text is compared with the API's figure
def fmt_int(v) -> str:
    return "—" if v is None else f"{v:,}"


def fmt_cost(v) -> str:
    if v is None:
        return "—"
    if v == 0:
        return "$0"
    return "$" + f"{v:.10f}".rstrip("0") if v < 0.01 else f"${v:.4f}"


def fmt_ms(v) -> str:
    if v is None:
        return "—"
    return f"{v / 1000:.2f} s" if v >= 1000 else f"{round(v)} ms"


def expected_cards(s: dict) -> dict[str, str]:
    rate = f"{s['failed_calls'] / s['total_calls'] * 100:.1f}%"
    return {"card-calls": fmt_int(s["total_calls"]), "card-cost": fmt_cost(s["total_cost_usd"]),
            "card-errors": f"{fmt_int(s['failed_calls'])} · {rate}", "card-p50": fmt_ms(s["p50_latency_ms"]),
            "card-p95": fmt_ms(s["p95_latency_ms"]), "card-p99": fmt_ms(s["p99_latency_ms"]),
            "card-tokens": fmt_int(s["total_tokens"]), "card-unpriced": fmt_int(s["unpriced_calls"]),
            "card-estimated": fmt_int(s["estimated_calls"]), "card-ttfb-p50": fmt_ms(s["p50_ttfb_ms"]),
            "card-pii": "0"}  # no prompt here holds personal data (tests/ui/test_ui_pii.py counts some)


# read in one script: the dashboard redraws whole sections, so elements found one by one can go stale
def cards(driver) -> dict[str, str]:
    return driver.execute_script("return Object.fromEntries([...document.querySelectorAll('#cards .card')]"
                                 ".map((c) => [c.id, c.querySelector('.big').textContent]))")


def breakdown(driver, table: str = "dash-breakdown-table", cell: str = "calls") -> dict[str, str]:
    return driver.execute_script(f"return Object.fromEntries([...document.querySelectorAll('#{table} tbody tr')]"
                                 f".map((r) => [r.dataset.key, r.querySelector('td.{cell}').textContent]))")


async def test_dashboard_totals_breakdown_feedback_and_filters(proxy, browser, tmp_path):  # noqa: F811
    labels = {"x-llmlog-environment": "prod", "x-llmlog-flow": "triage"}
    mini = [await call(proxy, "gpt-4o-mini", "hello there world", headers={**labels, "x-llmlog-user": "alice"}),
            await call(proxy, "gpt-4o-mini", "one more question please", headers={"x-llmlog-user": "bob"}),
            await call(proxy, "gpt-4o-mini", "third", headers=labels, reasoning_effort="low")]  # thinks 64 tokens
    await call(proxy, "gpt-4o", "tell me a story", headers={"x-llmlog-environment": "dev"})
    await call(proxy, "gpt-4o", "streamed without usage", stream=True)  # llmlog estimates its tokens
    await call(proxy, "local-llama", "no price for me")  # a model without a known price
    for _ in range(2):
        await call(proxy, "bad-model", "will fail", headers=labels)
    await flushed(proxy)  # feedback is for calls already stored
    for call_id, score in ((mini[0], 1), (mini[1], 0)):
        assert (await proxy.post(f"/v1/logs/{call_id}/feedback", json={"score": score})).status == 200
    await flushed(proxy)

    async def api_summary(**filters) -> dict:
        resp = await proxy.get("/v1/logs/summary?" + urlencode({"start_date": WINDOW, **filters}))
        assert resp.status == 200
        return (await resp.json())["summary"]

    everything, only_mini = await api_summary(), await api_summary(model="gpt-4o-mini")
    assert everything["total_calls"] == 8 and everything["failed_calls"] == 2 and everything["unpriced_calls"] == 1
    assert everything["estimated_calls"] == 1 and everything["reasoning_tokens"] == 64
    assert only_mini["total_calls"] == 3
    assert everything["p50_ttfb_ms"] is not None and everything["calls_with_ttfb"] > 0
    base = str(proxy.make_url("")).rstrip("/")

    def drive():
        browser.get(f"{base}/ui/?view=summary&summary_start={WINDOW}")
        wait(browser, lambda d: cards(d).get("card-calls") == "8")
        assert cards(browser) == expected_cards(everything)
        assert breakdown(browser) == {"gpt-4o-mini": "3", "bad-model": "2", "gpt-4o": "2", "local-llama": "1"}
        local = browser.find_element(By.CSS_SELECTOR, '#dash-breakdown-table tr[data-key="local-llama"] td.cost')
        assert local.text == "unpriced"  # not $0
        estimated = {"gpt-4o-mini": "0", "bad-model": "0", "gpt-4o": "1", "local-llama": "0"}
        assert breakdown(browser, cell="estimated") == estimated
        assert "(thinking 64)" in browser.find_element(By.ID, "card-tokens").text
        ttfb = browser.find_element(By.CSS_SELECTOR, "#card-ttfb-p50 .card-sub").text
        assert ttfb == f"time to first byte, {fmt_int(everything['calls_with_ttfb'])} calls"
        for chart in ("calls", "cost", "errors", "latency", "ttfb", "tokens"):  # each drawn, with its previous period
            legend = browser.find_element(By.CSS_SELECTOR, f"#chart-{chart} .u-legend").text
            assert "previous period" in legend and browser.find_elements(By.CSS_SELECTOR, f"#chart-{chart} canvas")
        assert breakdown(browser, "dash-feedback-models", "feedback") == {"gpt-4o-mini": "2"}
        assert browser.find_element(By.CSS_SELECTOR, "#card-feedback .big").text == "2"
        assert browser.find_element(By.CSS_SELECTOR, "#card-feedback-scores .big").text == "1 × 1, 1 × 0"
        browser.set_window_size(1280, 2030)  # the whole dashboard in the picture
        screenshot(browser, tmp_path, "dashboard")
        browser.set_window_size(1280, 860)

        # a breakdown by another dimension, kept in the URL
        browser.find_element(By.CSS_SELECTOR, "#dash-dimension option[value=environment]").click()
        wait(browser, lambda d: breakdown(d) == {"prod": "4", "": "3", "dev": "1"})
        assert "breakdown=environment" in browser.current_url

        # a filter set on the table narrows the dashboard to the same calls as the API's summary
        browser.find_element(By.ID, "tab-logs").click()
        browser.find_element(By.ID, "f-model").send_keys("gpt-4o-mini")
        browser.find_element(By.ID, "apply").click()
        browser.find_element(By.ID, "tab-summary").click()
        wait(browser, lambda d: cards(d).get("card-calls") == "3")
        assert cards(browser) == expected_cards(only_mini)
        assert "gpt-4o-mini" in browser.find_element(By.ID, "dash-filters").text
        browser.refresh()  # window, breakdown and filter all come back from the URL
        wait(browser, lambda d: cards(d).get("card-calls") == "3" and breakdown(d) == {"prod": "2", "": "1"})
        return browser.current_url

    url = await asyncio.to_thread(drive)
    assert "model=gpt-4o-mini" in url and f"summary_start={WINDOW}" in url
    assert (tmp_path / "dashboard.png").stat().st_size > 20000
