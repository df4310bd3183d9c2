"""The Exports view and feedback in a real browser (issue 19): an export made in the page, with the
table's filters and chosen fields, downloads exactly the matching calls as a browser download
through the signed URL; a job that failed (a user erasure withdrew its file) is retried from the
page; feedback given in the side panel is found by the table's feedback filter.

Needs Debian chromium and chromium-driver like tests/ui/test_ui_browser.py (required under CI=true).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from llmlog.store.job_rows import WITHDRAWN
from tests.conftest import flushed
from tests.ui.test_ui_browser import browser, call, rows, screenshot, wait  # noqa: F401 (the browser fixture; skips without chromium)
from tests.ui.test_ui_state import shown

KEY = "logs-key-for-exports"
AUTH = {"Authorization": f"Bearer {KEY}"}


def downloaded(folder: Path, timeout: float = 15) -> tuple[str, bytes]:
    """The name and bytes of the one file the browser saved in `folder`, taken out of it once
    complete (a second download of the same name would overwrite it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list(folder.iterdir()) if folder.exists() else []
        if len(files) == 1 and not files[0].name.endswith(".crdownload"):
            data = files[0].read_bytes()
            files[0].unlink()
            return files[0].name, data
        time.sleep(0.05)
    raise AssertionError(f"expected one finished download in {folder}: {sorted(p.name for p in folder.iterdir())}")


def job_row(driver, status: str):
    """The one export job listed, once its status is `status` (the page polls while it runs)."""
    wait(driver, lambda d: d.execute_script(  # read in one go: the list is replaced while it polls
        "return [...document.querySelectorAll('#exports tbody tr')].map((r) => r.dataset.status)") == [status])
    return driver.find_element(By.CSS_SELECTOR, "#exports tbody tr")


def download_ready(driver):
    """The job's Download link, once it holds its signed URL (a plain link: the click downloads)."""
    wait(driver, lambda d: "signature=" in d.find_element(By.CSS_SELECTOR, ".ex-download").get_attribute("href"))
    return driver.find_element(By.CSS_SELECTOR, ".ex-download")


async def test_an_export_made_in_the_page_downloads_the_matching_calls_and_a_failed_one_retries(
        make_proxy, browser, tmp_path):  # noqa: F811
    proxy = await make_proxy(logs_api__api_keys=[KEY])
    labels = {"x-llmlog-tags": "export-me"}
    kept = await call(proxy, "gpt-4o-mini", "first to export", headers={**labels, "x-llmlog-user": "alice"})
    erased = await call(proxy, "gpt-4o-mini", "second to export", headers={**labels, "x-llmlog-user": "bob"})
    await call(proxy, "gpt-4o", "other model", headers={**labels, "x-llmlog-user": "alice"})
    await call(proxy, "gpt-4o-mini", "other tag", headers={"x-llmlog-tags": "keep-out", "x-llmlog-user": "alice"})
    await flushed(proxy)
    base = str(proxy.make_url("")).rstrip("/")
    downloads = tmp_path / "downloads"
    # a real download: Chromium saves what the page's link navigates to (the signed URL, no key)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    chosen = ["id", "model", "user_id"]
    bad = await proxy.post("/v1/logs/exports", headers=AUTH, json={"filters": {"status": "nope"}})
    refusal = (await bad.json())["error"]["message"]

    def records(data: bytes) -> list[dict]:
        return [orjson.loads(line) for line in data.splitlines()]

    def export_and_download():
        browser.get(base + "/ui/?model=gpt-4o-mini&tags=export-me")
        wait(browser, lambda d: d.find_element(By.ID, "auth").is_displayed())
        browser.find_element(By.ID, "auth-key").send_keys(KEY + "\n")
        wait(browser, lambda d: shown(d) == {kept, erased})
        browser.find_element(By.ID, "tab-exports").click()
        wait(browser, lambda d: "No exports yet" in d.find_element(By.ID, "exports-list").text)
        assert browser.current_url == base + "/ui/?view=exports&model=gpt-4o-mini&tags=export-me"

        browser.find_element(By.ID, "export-new").click()
        wait(browser, lambda d: d.find_element(By.ID, "export-form").is_displayed())
        prefilled = {r.find_element(By.CSS_SELECTOR, ".ex-filter-name").get_attribute("value"):
                     r.find_element(By.CSS_SELECTOR, ".ex-filter-value").get_attribute("value")
                     for r in browser.find_elements(By.CSS_SELECTOR, "#ex-filter-rows .ex-filter")}
        assert prefilled == {"model": "gpt-4o-mini", "tags": "export-me"}  # the table's filters
        assert Select(browser.find_element(By.ID, "ex-range")).first_selected_option.text == "Last 7 days"
        browser.find_element(By.XPATH, "//fieldset[@id='ex-fields']//button[.='none']").click()
        for name in chosen:
            browser.find_element(By.CSS_SELECTOR, f"#ex-fields input[value='{name}']").click()
        browser.find_element(By.ID, "ex-add-filter").click()  # a bad value: the API's message, nothing created
        added = browser.find_elements(By.CSS_SELECTOR, "#ex-filter-rows .ex-filter")[-1]
        Select(added.find_element(By.CSS_SELECTOR, ".ex-filter-name")).select_by_value("status")
        added.find_element(By.CSS_SELECTOR, ".ex-filter-value").send_keys("nope")
        browser.find_element(By.ID, "ex-create-start").click()
        wait(browser, lambda d: d.find_element(By.ID, "ex-error").text)
        assert browser.find_element(By.ID, "ex-error").text == "Could not create the export: " + refusal
        added.find_element(By.CSS_SELECTOR, ".ex-filter-remove").click()
        browser.find_element(By.ID, "ex-description").send_keys("export-me calls")
        browser.find_element(By.ID, "ex-create-draft").click()

        row = job_row(browser, "draft")
        assert "export-me calls" in row.text and "model=gpt-4o-mini" in row.text and "tags=export-me" in row.text
        row.find_element(By.CSS_SELECTOR, ".ex-start").click()
        row = job_row(browser, "success")
        assert row.find_element(By.CSS_SELECTOR, ".ex-rows").text == "2"
        assert row.find_element(By.CSS_SELECTOR, ".ex-fields").get_attribute("title") == ", ".join(chosen)
        browser.find_element(By.ID, "export-new").click()  # the form above the finished job, for the picture
        wait(browser, lambda d: d.find_element(By.ID, "export-form").is_displayed())
        screenshot(browser, tmp_path, "exports")
        browser.find_element(By.ID, "ex-cancel").click()
        link = download_ready(browser)
        link.click()
        name, data = downloaded(downloads)
        return row.get_attribute("data-id"), name, data, link.get_attribute("href")

    job_id, name, data, signed = await asyncio.to_thread(export_and_download)
    assert name == f"llmlog-export-{job_id}.jsonl"
    got = records(data)
    assert sorted(r["id"] for r in got) == sorted([kept, erased]) and all(list(r) == chosen for r in got)
    assert (await proxy.get(signed.removeprefix(base))).status == 200

    # an erasure removes every finished export file (it may quote bob): the job fails until run again
    erasure = await proxy.delete("/v1/logs/user/bob", headers=AUTH)
    assert erasure.status == 200 and (await erasure.json())["deleted"] == 1

    def retry():
        browser.find_element(By.ID, "exports-refresh").click()
        row = job_row(browser, "failure")
        assert row.find_element(By.CSS_SELECTOR, ".ex-error").text == WITHDRAWN
        row.find_element(By.CSS_SELECTOR, ".ex-retry").click()
        row = job_row(browser, "success")
        assert row.find_element(By.CSS_SELECTOR, ".ex-rows").text == "1"
        download_ready(browser).click()
        return downloaded(downloads)

    name, data = await asyncio.to_thread(retry)
    assert name == f"llmlog-export-{job_id}.jsonl"
    assert records(data) == [{"id": kept, "model": "gpt-4o-mini", "user_id": "alice"}]


async def test_feedback_given_in_the_panel_is_found_by_the_feedback_filter(proxy, browser):  # noqa: F811
    liked = await call(proxy, "gpt-4o-mini", "a good answer please")
    disliked = await call(proxy, "gpt-4o-mini", "a bad answer please")
    await call(proxy, "gpt-4o-mini", "no opinion on this one")
    await flushed(proxy)
    assert (await proxy.post(f"/v1/logs/{disliked}/feedback", json={"score": 0})).status == 200
    base = str(proxy.make_url("")).rstrip("/")

    def drive():
        browser.get(f"{base}/ui/logs/{liked}")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel button[aria-label='Good response']"))
        browser.find_element(By.CSS_SELECTOR, "#panel button[aria-label='Good response']").click()
        wait(browser, lambda d: "Thanks, saved." in d.find_element(By.ID, "panel").text)
        browser.find_element(By.ID, "panel-close").click()
        Select(browser.find_element(By.ID, "f-feedback")).select_by_value("good")
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: shown(d) == {liked})
        assert browser.current_url == f"{base}/ui/?feedback=good"
        assert browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{liked}"] td.feedback').text == "👍 1"

    await asyncio.to_thread(drive)
    got = (await (await proxy.get("/v1/logs", params={"min_feedback_score": "1"})).json())["logs"]
    assert [e["id"] for e in got] == [liked]
