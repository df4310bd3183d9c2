"""The logs page's state in its URL, and what it says when something is wrong or empty (issue 19), in
a real browser: every filter of the API set in the page survives a reload and a copied link; a
missing or wrong API key, an API error and an empty table each say what happened and what to do.

Needs Debian chromium and chromium-driver like tests/ui/test_ui_browser.py (required under CI=true).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl, urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.conftest import flushed
from tests.ui.test_ui_browser import browser, call, rows, screenshot, wait  # noqa: F401 (the browser fixture; skips without chromium)

KEY = "logs-key-for-the-page"

LABELS = {"x-llmlog-user": "alice", "x-llmlog-tags": "demo,blue", "x-llmlog-environment": "prod",
          "x-llmlog-task-type": "summarise", "x-llmlog-flow": "support"}

# each filter field of the page, by id, with the value the test types or picks, and the URL parameter
TEXT_FILTERS = {"f-model": ("model", "gpt-4o-mini"), "f-provider": ("provider", None),
                "f-user": ("user_id", "alice"), "f-tag": ("tags", "demo"), "f-environment": ("environment", "prod"),
                "f-task-type": ("task_type", "summarise"), "f-flow": ("flow", "support"),
                "f-min-cost": ("min_cost", "0.000001"), "f-max-cost": ("max_cost", "1"),
                "f-min-latency": ("min_duration_ms", "0"), "f-max-latency": ("max_duration_ms", "60000"),
                "f-q": ("q", "needle")}
MENU_FILTERS = {"f-range": ("start_date", "-24h"), "f-status": ("status", "success"),
                "f-feedback": ("feedback", "true"), "f-pii": ("pii", "false"), "f-dnt": ("do_not_track", "false")}


def shown(driver) -> set[str]:
    # read in one go: the table is replaced while a filter loads
    return set(driver.execute_script(
        "return [...document.querySelectorAll('#logs tbody tr')].map((r) => r.dataset.id)"))


def form_values(driver) -> dict[str, str]:
    return {field: driver.find_element(By.ID, field).get_attribute("value") for field in (*TEXT_FILTERS, *MENU_FILTERS)}


async def test_every_filter_survives_a_reload_and_a_copied_link(proxy, browser):  # noqa: F811
    # `wanted` matches every filter; each other call misses exactly one of them
    wanted = await call(proxy, "gpt-4o-mini", "find the needle here", headers=LABELS)
    misses = {
        "model": await call(proxy, "gpt-4o", "find the needle here", headers=LABELS),
        "environment": await call(proxy, "gpt-4o-mini", "find the needle here",
                                  headers={**LABELS, "x-llmlog-environment": "staging"}),
        "flow": await call(proxy, "gpt-4o-mini", "find the needle here", headers={**LABELS, "x-llmlog-flow": "sales"}),
        "task_type": await call(proxy, "gpt-4o-mini", "find the needle here",
                                headers={**LABELS, "x-llmlog-task-type": "translate"}),
        "user": await call(proxy, "gpt-4o-mini", "find the needle here", headers={**LABELS, "x-llmlog-user": "bob"}),
        "q": await call(proxy, "gpt-4o-mini", "find the haystack here", headers=LABELS),
        "feedback": await call(proxy, "gpt-4o-mini", "find the needle here", headers=LABELS),
        "pii": await call(proxy, "gpt-4o-mini", "find the needle here, ana@example.com", headers=LABELS),
        "do_not_track": await call(proxy, "gpt-4o-mini", "find the needle here",
                                   headers={**LABELS, "x-debug": "false"}),
    }
    await flushed(proxy)
    for call_id in [wanted, misses["model"], misses["environment"], misses["flow"], misses["task_type"],
                    misses["user"], misses["q"], misses["pii"], misses["do_not_track"]]:
        assert (await proxy.post(f"/v1/logs/{call_id}/feedback", json={"score": 1})).status == 200
    # the API's do_not_track filter, new with this page's menu for it
    dnt = misses["do_not_track"]
    for flag, ids in (("true", {dnt}), ("false", {wanted, *misses.values()} - {dnt})):
        listed = (await (await proxy.get(f"/v1/logs?do_not_track={flag}")).json())["logs"]
        assert {e["id"] for e in listed} == ids
    provider = (await (await proxy.get(f"/v1/logs/{wanted}")).json())["provider"]
    filters = dict(TEXT_FILTERS, **{"f-provider": ("provider", provider)})
    expected = {param: value for param, value in (*filters.values(), *MENU_FILTERS.values())}
    base = str(proxy.make_url("")).rstrip("/")
    everyone = {wanted, *misses.values()}

    def drive():
        browser.get(base + "/ui")
        wait(browser, lambda d: shown(d) == everyone)
        for field, (_, value) in filters.items():
            browser.find_element(By.ID, field).send_keys(value)
        for field, (_, value) in MENU_FILTERS.items():
            Select(browser.find_element(By.ID, field)).select_by_value(value)
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: shown(d) == {wanted})
        browser.find_element(By.CSS_SELECTOR, 'th button[data-sort="cost"]').click()
        wait(browser, lambda d: "sort_by=cost" in d.current_url)
        url = browser.current_url
        assert dict(parse_qsl(urlsplit(url).query)) == {**expected, "sort_by": "cost"}
        values = form_values(browser)

        browser.refresh()
        wait(browser, lambda d: shown(d) == {wanted})
        assert form_values(browser) == values and browser.current_url == url
        assert browser.find_element(By.CSS_SELECTOR, 'th:has(button[data-sort="cost"])').get_attribute(
            "aria-sort") == "descending"

        browser.switch_to.new_window("tab")  # a fresh page: nothing of the first one's session
        browser.get(url)
        wait(browser, lambda d: shown(d) == {wanted})
        assert form_values(browser) == values

        # the open call joins the state: its permalink keeps the filters, and Back closes it
        browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{wanted}"]').click()
        wait(browser, lambda d: urlsplit(d.current_url).path == f"/ui/logs/{wanted}")
        assert urlsplit(browser.current_url).query == urlsplit(url).query
        browser.refresh()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .conversation"))
        wait(browser, lambda d: shown(d) == {wanted})
        browser.back()
        wait(browser, lambda d: not d.find_element(By.ID, "panel").is_displayed())

        browser.find_element(By.ID, "clear").click()
        wait(browser, lambda d: shown(d) == everyone)
        assert urlsplit(browser.current_url).query == "sort_by=cost"  # Clear empties the filters, not the sort

        browser.find_element(By.ID, "tab-summary").click()
        wait(browser, lambda d: "view=summary" in d.current_url)
        browser.refresh()
        wait(browser, lambda d: d.find_element(By.ID, "view-summary").is_displayed())
        assert not browser.find_element(By.ID, "view-logs").is_displayed()

    await asyncio.to_thread(drive)


async def test_a_missing_or_wrong_key_says_so(make_proxy, browser):  # noqa: F811
    proxy = await make_proxy(logs_api__api_keys=[KEY])
    await call(proxy, "gpt-4o-mini", "hello")
    await flushed(proxy)
    refusal = (await (await proxy.get("/v1/logs")).json())["error"]["message"]
    wrong = (await (await proxy.get("/v1/logs", headers={"Authorization": "Bearer nope"})).json())["error"]["message"]
    base = str(proxy.make_url("")).rstrip("/")

    def focused() -> str:
        return browser.execute_script("return document.activeElement.id")

    def drive():
        browser.get(base + "/ui")
        wait(browser, lambda d: d.find_element(By.ID, "auth").is_displayed())
        note = browser.find_element(By.ID, "auth-note").text
        assert "needs a key" in note and refusal in note and focused() == "auth-key"

        browser.find_element(By.ID, "auth-key").send_keys("nope\n")
        wait(browser, lambda d: "refused" in d.find_element(By.ID, "auth-note").text)
        assert wrong in browser.find_element(By.ID, "auth-note").text and focused() == "auth-key"
        assert browser.find_element(By.ID, "auth").is_displayed()

        key = browser.find_element(By.ID, "auth-key")
        key.clear()
        key.send_keys(KEY + "\n")
        wait(browser, lambda d: len(rows(d)) == 1)
        assert not browser.find_element(By.ID, "auth").is_displayed()

    await asyncio.to_thread(drive)


async def test_an_api_error_shows_its_message_and_empty_tables_say_what_next(proxy, browser):  # noqa: F811
    base = str(proxy.make_url("")).rstrip("/")
    message = (await (await proxy.get("/v1/logs?min_cost=-1")).json())["error"]["message"]

    def status(driver) -> str:
        return driver.find_element(By.ID, "status-line").text

    def drive():
        browser.get(base + "/ui/?min_cost=-1")
        wait(browser, lambda d: status(d).startswith("Could not load logs"))
        assert status(browser) == "Could not load logs: " + message

        browser.get(base + "/ui")  # nothing logged yet: how to send a first call
        wait(browser, lambda d: d.find_element(By.ID, "empty").is_displayed())
        empty = browser.find_element(By.ID, "empty").text
        assert "No calls logged yet" in empty and f'base_url="{base}/v1"' in empty

        browser.get(base + "/ui/?model=nothing-like-this")  # filtered to nothing: widen or clear
        wait(browser, lambda d: "No calls match" in d.find_element(By.ID, "empty").text)
        browser.find_element(By.ID, "empty-clear").click()
        wait(browser, lambda d: "No calls logged yet" in d.find_element(By.ID, "empty").text)
        assert urlsplit(browser.current_url).query == ""

    def note(driver) -> str:
        return driver.find_element(By.ID, "summary-note").text

    def hand_edited():
        # a hand-edited or mistyped address gives the defaults of what it got wrong, like sort_by does,
        # never a dashboard that is one error message
        browser.get(base + "/ui/?view=bogus&sort_by=x&live=1&summary_start=junk&bucket=junk&breakdown=junk")
        wait(browser, lambda d: len(rows(d)) == 1)
        assert dict(parse_qsl(urlsplit(browser.current_url).query)) == {"live": "1"}
        browser.get(base + "/ui/?view=summary&summary_start=junk&bucket=junk&breakdown=junk")
        wait(browser, lambda d: d.find_elements(By.ID, "card-calls"))
        assert "Could not" not in note(browser) and ", by hour;" in note(browser)
        assert dict(parse_qsl(urlsplit(browser.current_url).query)) == {"view": "summary"}
        # both menus offer these: 5 minutes over 90 days is past the API's 10,000 buckets, so the
        # charts step up to the finest bucket it answers and say so, the cards and breakdown still shown
        browser.get(base + "/ui/?view=summary&summary_start=-90d&bucket=5m")
        wait(browser, lambda d: d.find_elements(By.ID, "card-calls"))
        assert "Could not" not in note(browser) and ", by 15m (5m would be more than" in note(browser)
        assert browser.find_element(By.CSS_SELECTOR, "#card-calls .big").text == "1"

    await asyncio.to_thread(drive)
    # one call with labels of any length (a caller chooses them) cannot push the other columns away
    long_model = "ft:gpt-4o-mini-2024-07-18:" + "x" * 300
    await call(proxy, long_model, "long labels", headers={"x-llmlog-user": "u" * 250,
                                                          "x-llmlog-tags": ",".join(f"tag{i}" for i in range(60))})
    await flushed(proxy)

    def long_labels():
        browser.get(base + "/ui")
        wait(browser, lambda d: len(rows(d)) == 1)
        widths = browser.execute_script("""const r = document.querySelector('#logs tbody tr');
            return ['model', 'user', 'tags'].map((c) => r.querySelector('td.' + c).offsetWidth)""")
        assert max(widths) <= 320, widths
        assert browser.find_element(By.CSS_SELECTOR, "#logs tbody td.model").get_attribute("title") == long_model
        assert browser.find_element(By.CSS_SELECTOR, "#logs tbody td.preview").is_displayed()

    await asyncio.to_thread(long_labels)
    await asyncio.to_thread(hand_edited)


async def test_a_trace_of_four_nested_calls_from_the_side_panel(proxy, browser, tmp_path):  # noqa: F811
    # root → planner → worker, and root → critic: four calls in one tree, the worker two levels down
    ids: dict[str, str] = {}
    for name, parent, model in (("root", None, "gpt-4o"), ("planner", "root", "gpt-4o-mini"),
                                ("worker", "planner", "gpt-4o-mini"), ("critic", "root", "my-local-model")):
        headers = {"x-llmlog-parent-id": ids[parent]} if parent else {}
        ids[name] = await call(proxy, model, f"{name} step", headers=headers)
        await flushed(proxy)
    unrelated = await call(proxy, "gpt-4o-mini", "another tree")
    await flushed(proxy)
    tree = (await (await proxy.get(f"/v1/logs/{ids['worker']}/hierarchy")).json())["tree"]
    assert tree["calls"] == 4 and tree["unpriced_calls"] == 1  # my-local-model has no price
    cost = "$" + f"{tree['cost_usd']:.10f}".rstrip("0")  # the page's form of a cost under a cent
    base = str(proxy.make_url("")).rstrip("/")
    names = {v: k for k, v in ids.items()}

    def drive():
        browser.get(f"{base}/ui/logs/{ids['worker']}")
        wait(browser, lambda d: d.find_elements(By.ID, "show-trace"))
        # the panel's trail, root → planner → worker, each a link, and the tree's unpriced call said
        crumbs = browser.find_element(By.CSS_SELECTOR, "#panel nav.crumbs")
        assert len(crumbs.find_elements(By.TAG_NAME, "a")) == 3 and crumbs.text.count(" → ") == 2
        summary = browser.find_element(By.ID, "trace-summary").text
        assert summary.startswith("0 child calls;") and summary.endswith(f"{cost} in all + 1 unpriced")
        browser.find_element(By.ID, "show-trace").click()
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#view-trace .tree-node")) == 4)
        assert not browser.find_element(By.ID, "panel").is_displayed()
        nodes = browser.find_elements(By.CSS_SELECTOR, "#view-trace .tree-node")
        assert {names.get(n.get_attribute("data-id"), unrelated) for n in nodes} == set(ids)
        # nested by parent: each call's node sits inside its parent's
        parents = browser.execute_script("""return Object.fromEntries(
            [...document.querySelectorAll('#view-trace .tree-node')]
              .map((n) => [n.dataset.id, n.parentElement.closest('.tree-node')?.dataset.id ?? null]))""")
        assert {names[k]: names.get(v) for k, v in parents.items()} == {
            "root": None, "planner": "root", "worker": "planner", "critic": "root"}
        assert browser.find_element(By.ID, "trace-total-cost").text.split("\n")[-1] == cost
        assert browser.find_element(By.ID, "trace-total-calls").text.split("\n")[-1] == "4"
        worker = browser.find_element(By.CSS_SELECTOR, f'.tree-node[data-id="{ids["worker"]}"] .tree-line')
        assert "gpt-4o-mini" in worker.text and " ms" in worker.text and "$" in worker.text
        critic = browser.find_element(By.CSS_SELECTOR, f'.tree-node[data-id="{ids["critic"]}"] .tree-line')
        assert "unpriced" in critic.text
        screenshot(browser, tmp_path, "trace")

        browser.refresh()  # the Traces view is in the URL too
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#view-trace .tree-node")) == 4)
        browser.find_element(By.CSS_SELECTOR, f'.tree-node[data-id="{ids["critic"]}"] a').click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .conversation"))
        assert "critic step" in browser.find_element(By.ID, "panel").text

        # the root's panel lists the calls it made, each opening its own panel
        browser.get(f"{base}/ui/logs/{ids['root']}")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#sub-calls li"))
        kids = browser.find_elements(By.CSS_SELECTOR, "#sub-calls li")
        assert {names[li.get_attribute("data-id")] for li in kids} == {"planner", "critic"}
        browser.find_element(By.CSS_SELECTOR, f'#sub-calls li[data-id="{ids["planner"]}"] a').click()
        wait(browser, lambda d: d.current_url.endswith(f"/ui/logs/{ids['planner']}")
             and "planner step" in d.find_element(By.ID, "panel").text)

    await asyncio.to_thread(drive)


async def test_the_live_tail_adds_new_calls_without_reloading_the_table(proxy, browser):  # noqa: F811
    first = await call(proxy, "gpt-4o-mini", "before the page opened")
    await flushed(proxy)
    base = str(proxy.make_url("")).rstrip("/")

    def status(driver) -> str:
        return driver.find_element(By.ID, "status-line").text

    def open_page():
        browser.get(base + "/ui/?live=1")
        wait(browser, lambda d: shown(d) == {first})
        assert browser.find_element(By.ID, "live-tail").is_selected()
        browser.execute_script("window.sameDocument = true")  # gone if the page reloads

    await asyncio.to_thread(open_page)
    later = []
    for i in range(2):
        later.append(await call(proxy, "gpt-4o-mini", f"after the page opened {i}"))
        await asyncio.sleep(0.002)  # calls of one millisecond are listed by id, not by arrival
    other = await call(proxy, "gpt-4o", "not this model")
    await flushed(proxy)

    def watch():
        wait(browser, lambda d: shown(d) == {first, *later, other})
        order = browser.execute_script(
            "return [...document.querySelectorAll('#logs tbody tr')].map((r) => r.dataset.id)")
        assert order == [other, *reversed(later), first]  # newest first, like the first page
        assert browser.execute_script("return window.sameDocument") is True
        wait(browser, lambda d: status(d) == "Showing 4 of 4 calls")
        # a filter narrows the tail too
        browser.find_element(By.ID, "f-model").send_keys("gpt-4o-mini")
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: shown(d) == {first, *later})
        # sorted by cost there is no "newest" to follow: the tail is off and says why
        browser.find_element(By.CSS_SELECTOR, 'th button[data-sort="cost"]').click()
        wait(browser, lambda d: not d.find_element(By.ID, "live-tail").is_enabled())
        assert "sort by time" in browser.find_element(By.ID, "live-label").get_attribute("title")

    await asyncio.to_thread(watch)
    newest = await call(proxy, "gpt-4o-mini", "while sorted by cost")
    await flushed(proxy)

    def still():
        time.sleep(2.5)  # longer than one poll
        assert newest not in shown(browser)
        browser.find_element(By.CSS_SELECTOR, 'th button[data-sort="timestamp"]').click()
        wait(browser, lambda d: d.find_element(By.ID, "live-tail").is_enabled())
        wait(browser, lambda d: newest in shown(d))

    await asyncio.to_thread(still)
