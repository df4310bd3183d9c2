"""The personal data counts on the logs page, in a real browser (issue 21): a PII badge on the rows
of calls with some, their kinds in its tooltip, the counts by kind in the side panel, a PII filter kept
in the URL, and the dashboard's card of calls with PII.

Needs Debian chromium and chromium-driver like tests/ui/test_ui_browser.py (required under CI=true).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.conftest import flushed
from tests.ui.test_ui_browser import browser, call, wait  # noqa: F401 (the browser fixture; skips without chromium)
from tests.ui.test_ui_state import shown

CARD = "4111 1111 1111 1111"  # Luhn-valid


def badges(driver) -> dict[str, str | None]:
    """Each row's PII badge tooltip (None: no badge), read in one go."""
    return driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#logs tbody tr')].map((r) => "
        "[r.dataset.id, r.querySelector('.badge.pii') ? r.querySelector('.badge.pii').title : null]))")


async def test_the_page_marks_counts_and_filters_calls_with_personal_data(proxy, browser):  # noqa: F811
    mail_card = await call(proxy, "gpt-4o-mini", f"write to ana@example.com and charge {CARD}")
    phone = await call(proxy, "gpt-4o", "call me on +44 20 7946 0958 please")
    plain = await call(proxy, "gpt-4o-mini", "what is the capital of France")
    await flushed(proxy)
    base = str(proxy.make_url("")).rstrip("/")

    def drive():
        browser.get(base + "/ui")
        wait(browser, lambda d: shown(d) == {mail_card, phone, plain})
        # the fake upstream echoes the prompt: each value is found in the prompt and in the answer
        assert badges(browser) == {mail_card: "personal data found: email 2, card 2",
                                   phone: "personal data found: phone 2", plain: None}
        assert browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{phone}"] .badge.pii').text == "PII"

        Select(browser.find_element(By.ID, "f-pii")).select_by_value("card")
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: shown(d) == {mail_card})
        assert dict(parse_qsl(urlsplit(browser.current_url).query))["pii"] == "card"
        browser.refresh()
        wait(browser, lambda d: shown(d) == {mail_card})
        assert browser.find_element(By.ID, "f-pii").get_attribute("value") == "card"

        browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{mail_card}"]').click()
        wait(browser, lambda d: d.find_elements(By.ID, "panel-pii"))
        counts = browser.execute_script(
            "return [...document.querySelectorAll('#panel-pii dt')].map((t) => [t.textContent, "
            "t.nextElementSibling.textContent])")
        assert counts == [["email", "2"], ["card", "2"]]
        browser.find_element(By.ID, "panel-close").click()

        Select(browser.find_element(By.ID, "f-pii")).select_by_value("false")
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: shown(d) == {plain})
        browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{plain}"]').click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .conversation"))
        assert not browser.find_elements(By.ID, "panel-pii")  # nothing found: no section

        # the dashboard: the table's filter narrows it too; without it, every call with PII, per kind
        browser.get(base + "/ui/?view=summary&pii=true")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#card-calls .big")
             and d.find_element(By.CSS_SELECTOR, "#card-calls .big").text == "2")
        assert "PII true" in browser.find_element(By.ID, "dash-filters").text
        browser.get(base + "/ui/?view=summary")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#card-calls .big")
             and d.find_element(By.CSS_SELECTOR, "#card-calls .big").text == "3")
        assert browser.find_element(By.CSS_SELECTOR, "#card-pii .big").text == "2"
        assert browser.find_element(By.CSS_SELECTOR, "#card-pii .card-sub").text == \
            "calls per kind: card 1, email 1, phone 1"

    await asyncio.to_thread(drive)
