"""The logs page in a real browser (Debian chromium + chromedriver, driven by selenium).

Regenerate the README's screenshots with:
    LLMLOG_SCREENSHOTS=docs/screenshots python -m pytest tests/ui
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from llmlog.proxy.state import CONFIG
from tests.conftest import flushed

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
IN_CI = os.environ.get("CI", "").lower() == "true"

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    if IN_CI:
        raise RuntimeError("CI=true but chromium/chromium-driver are not installed (.ci/run installs them)")
    pytest.skip("needs Debian chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
                "`apt-get install chromium chromium-driver`", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# gpt-4o-mini list prices, USD per million tokens (pricing/data/openai.toml, platform.openai.com/docs/pricing)
MINI_INPUT, MINI_OUTPUT = Decimal("0.15"), Decimal("0.60")


def half_up(micros: Decimal) -> int:
    return int(micros.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,860", f"--user-data-dir={tmp_path / 'chrome'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def screenshot(driver, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    if target := os.environ.get("LLMLOG_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def wait(driver, condition, timeout: float = 15):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#logs tbody tr")


async def call(proxy, model: str, prompt: str, **extra) -> str:
    headers = extra.pop("headers", {})
    resp = await proxy.post("/v1/chat/completions", headers={"Authorization": "Bearer sk-test-secret", **headers},
                            json={"model": model, "messages": [{"role": "user", "content": prompt}], **extra})
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def test_logs_page_end_to_end(proxy, browser, tmp_path):
    plain = await call(proxy, "gpt-4o-mini", "hello there world", headers={"x-llmlog-user": "alice",
                                                                           "x-llmlog-tags": "demo"})
    streamed = await call(proxy, "gpt-4o", "tell me a story", stream=True, stream_options={"include_usage": True})
    failed = await call(proxy, "bad-model", "will fail")
    hidden = await call(proxy, "gpt-4o-mini", "secret words here", headers={"x-debug": "false"})
    await flushed(proxy)
    base = str(proxy.make_url("")).rstrip("/")
    # fake upstream: prompt tokens = 9 + words, completion = "Echo:" + the words; the exact cost in
    # nano-dollars (issue 15): 12 x 0.15 = 1.8 micro-dollars, 4 x 0.60 = 2.4, $0.0000042 in all
    expected_cost = (half_up((9 + 3) * MINI_INPUT * 1000) + half_up((1 + 3) * MINI_OUTPUT * 1000)) / 1e9
    assert expected_cost == 0.0000042
    expected_text = "$" + f"{expected_cost:.10f}".rstrip("0")

    def drive():
        browser.get(base + "/ui")
        wait(browser, lambda d: len(rows(d)) == 4)
        ids = [r.get_attribute("data-id") for r in rows(browser)]
        assert set(ids) == {plain, streamed, failed, hidden}
        status_cells = {r.get_attribute("data-id"): r.find_element(By.CSS_SELECTOR, ".badge").text
                        for r in rows(browser)}
        assert status_cells[failed].startswith("error")
        costs = {r.get_attribute("data-id"): r.find_element(By.CSS_SELECTOR, "td.cost").text for r in rows(browser)}
        # refused before any work: nothing billed, not "unpriced" (which the summary counts apart) nor $0
        assert costs[failed] == "—" and costs[plain].startswith("$0.00000")
        assert "do not track" in browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{hidden}"]').text
        prompts = {r.get_attribute("data-id"): r.find_element(By.CSS_SELECTOR, "td.preview").text
                   for r in rows(browser)}
        assert prompts[plain] == "hello there world" and prompts[streamed] == "tell me a story"
        assert "secret words" not in browser.find_element(By.ID, "logs").text
        screenshot(browser, tmp_path, "table")

        model = browser.find_element(By.ID, "f-model")
        model.send_keys("gpt-4o-mini")
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: len(rows(d)) == 2)
        assert {r.get_attribute("data-id") for r in rows(browser)} == {plain, hidden}

        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{plain}"]')
        assert expected_text in row.text
        row.send_keys(Keys.ENTER)  # keyboard: a focused row opens with Enter
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .conversation"))
        panel = browser.find_element(By.ID, "panel")
        # the call's permalink, with the filters behind it kept in the query (issue 19)
        assert browser.current_url == f"{base}/ui/logs/{plain}?model=gpt-4o-mini"
        assert browser.find_element(By.CSS_SELECTOR, "#panel strong.cost").text == expected_text
        conversation = panel.find_element(By.CSS_SELECTOR, ".conversation").text
        assert "hello there world" in conversation and "Echo: hello there world" in conversation
        curl = browser.find_element(By.ID, "curl").text
        assert "Bearer $YOUR_API_KEY" in curl and "sk-test-secret" not in curl
        panel.send_keys(Keys.ESCAPE)
        wait(browser, lambda d: not d.find_element(By.ID, "panel").is_displayed())

        browser.get(f"{base}/ui/logs/{streamed}")  # permalink opens the panel directly
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .conversation"))
        assert "Echo: tell me a story" in browser.find_element(By.ID, "panel").text

        browser.get(f"{base}/ui/logs/{hidden}")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .dnt-note"))
        shown = browser.find_element(By.ID, "panel").text
        assert "do not track" in shown and "secret words" not in shown
        assert not browser.find_elements(By.CSS_SELECTOR, "#panel .conversation")

    def summary():
        browser.get(base + "/ui")
        browser.find_element(By.ID, "tab-summary").click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#dash-breakdown-table tbody tr"))
        return browser.find_element(By.CSS_SELECTOR, "#card-calls .big").text

    await asyncio.to_thread(drive)
    await flushed(proxy)  # until the logs-API routes land, /events falls through to upstream and is logged
    total = (await (await proxy.get("/v1/logs")).json())["total"]
    assert await asyncio.to_thread(summary) == str(total)
    for name in ("table",):  # panel.png: test_ui_replay.py; dashboard.png: test_ui_dashboard.py
        assert (tmp_path / f"{name}.png").stat().st_size > 5000


async def test_logs_page_shows_content_encrypted_at_rest_decrypted(make_proxy, browser, tmp_path):
    key = tmp_path / "content.key"
    key.write_text("5e" * 32)
    key.chmod(0o600)
    proxy = await make_proxy(privacy__encryption_key_file=str(key))
    tampered_id = await call(proxy, "gpt-4o-mini", "a value changed on disk")
    call_id = await call(proxy, "gpt-4o-mini", "sealed Pangolin words")
    await flushed(proxy)
    from tests.api.test_encryption_at_rest import tamper
    tamper(proxy.app[CONFIG].db_path, tampered_id)
    base = str(proxy.make_url("")).rstrip("/")

    def drive():
        browser.get(base + "/ui")
        wait(browser, lambda d: len(rows(d)) == 2)
        assert rows(browser)[0].find_element(By.CSS_SELECTOR, "td.preview").text == "sealed Pangolin words"
        broken = rows(browser)[1].find_element(By.CSS_SELECTOR, "td.preview .badge")
        assert broken.text == "cannot be decrypted" and "cannot be decrypted" in broken.get_attribute("title")
        browser.get(f"{base}/ui/logs/{call_id}")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .conversation"))
        conversation = browser.find_element(By.CSS_SELECTOR, "#panel .conversation").text
        assert "sealed Pangolin words" in conversation and "Echo: sealed Pangolin words" in conversation

    await asyncio.to_thread(drive)


def seed(db_path: str, template: dict, count: int) -> None:
    """Copies of one real stored row with fresh ids spread over the last six days."""
    from llmlog.proxy.ids import new_call_id
    from llmlog.store.rows import Entry
    from llmlog.store.sqlite.db import connect
    from llmlog.store.sqlite.writer import write_batch

    conn = connect(db_path)
    now = int(time.time() * 1000)
    span = 6 * 24 * 3600 * 1000
    batch: list[Entry] = []
    for i in range(count):
        at = now - span + (span * i) // count
        row = dict(template, id=new_call_id(at), started_at=at, completed_at=at + 800,
                   duration_ms=200.0 + i % 900, model=("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku")[i % 3],
                   status="error" if i % 17 == 0 else "success", parent_id=None, root_id=None, depth=0)
        batch.append(Entry(call=row, content=None, tags=[]))
        if len(batch) == 20_000:
            write_batch(conn, batch)
            batch = []
    write_batch(conn, batch)
    conn.close()


async def test_first_page_render_time_with_100k_entries(make_proxy, db_path, browser, capsys):
    proxy = await make_proxy()
    await call(proxy, "gpt-4o-mini", "template row")
    await flushed(proxy)
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    template = dict(conn.execute("SELECT * FROM calls").fetchone())
    conn.close()
    started = time.perf_counter()
    await asyncio.to_thread(seed, db_path, template, 100_000)
    seeded_s = time.perf_counter() - started
    base = str(proxy.make_url("")).rstrip("/")

    def drive():
        t0 = time.perf_counter()
        browser.get(base + "/ui")
        wait(browser, lambda d: len(rows(d)) == 50, timeout=60)
        elapsed = time.perf_counter() - t0
        wait(browser, lambda d: "counting" not in d.find_element(By.ID, "status-line").text)
        return elapsed, browser.find_element(By.ID, "status-line").text

    elapsed, status = await asyncio.to_thread(drive)
    assert status == "Showing 50 of 100,001 calls"
    with capsys.disabled():
        print(f"\n[ui] 100,001 entries (seeded in {seeded_s:.1f} s): first page rendered in {elapsed * 1000:.0f} ms")
