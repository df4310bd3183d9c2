"""The logs page as Portkey's logs page describes it (seed 003), in a real browser: request type and
thinking tokens as columns, filtering by manual feedback and its aggregate, and images sent to
vision models and made by image models shown in the side panel, safely.

Needs Debian chromium and chromium-driver like tests/ui/test_ui_browser.py (required under CI=true).
"""

from __future__ import annotations

import asyncio
import base64

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from llmlog.proxy.ui.routes import CSP
from tests.conftest import flushed
from tests.fakes.fake_upstream import GENERATED_PNG, png
from tests.ui.test_ui_browser import browser, rows, wait  # noqa: F401 (the browser fixture; skips without chromium)

SENT_PNG = "data:image/png;base64," + base64.b64encode(png(5, 4, (20, 120, 40))).decode()
# Each would set window.pwned if any of it ran as script or markup.
HOSTILE_REMOTE = 'https://images.example.test/cat.png?x="><script>window.pwned=1</script>'
HOSTILE_URLS = [
    "javascript:window.pwned=2",
    "data:text/html;base64," + base64.b64encode(b"<script>window.parent.pwned=3</script>").decode(),
    "data:image/svg+xml;base64," + base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" '
                                                    b'onload="window.pwned=4"/>').decode(),
]
HOSTILE_PROMPT = '"><img src=x onerror="window.pwned=5"><script>window.pwned=6</script>'


def part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


async def post(proxy, path: str, body: dict) -> str:
    resp = await proxy.post(path, json=body, headers={"Authorization": "Bearer sk-test-secret"})
    await resp.read()
    assert resp.status == 200, path
    return resp.headers["x-llmlog-id"]


async def make_calls(proxy) -> dict[str, str]:
    ids = {
        "vision": await post(proxy, "/v1/chat/completions", {
            "model": "o3-mini", "reasoning_effort": "low",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "what is in these"}, part(SENT_PNG),
                                                      part(HOSTILE_REMOTE), *map(part, HOSTILE_URLS)]},
                         {"role": "user", "content": "describe them"}]}),
        # Anthropic's image block (base64 source); the fake answers any other path with an echo
        "claude": await post(proxy, "/v1/messages", {
            "model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": SENT_PNG.split(",", 1)[1]}},
                {"type": "text", "text": "what colour"}]}]}),
        "generated": await post(proxy, "/v1/images/generations", {"model": "gpt-image-1", "prompt": HOSTILE_PROMPT}),
        "liked": await post(proxy, "/v1/chat/completions", {
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "liked answer"}]}),
        "disliked": await post(proxy, "/v1/chat/completions", {
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "disliked answer"}]}),
    }
    await flushed(proxy)
    for name, score in (("liked", 1), ("disliked", 0)):
        resp = await proxy.post(f"/v1/logs/{ids[name]}/feedback", json={"score": score})
        assert resp.status == 200
    return ids


async def test_the_page_is_served_with_a_strict_csp(proxy):
    resp = await proxy.get("/ui")
    assert resp.headers["Content-Security-Policy"] == CSP
    assert "img-src 'self' data:;" in CSP and "script-src 'self';" in CSP and "unsafe" not in CSP


async def test_columns_feedback_filter_and_images(proxy, browser):  # noqa: F811
    ids = await make_calls(proxy)
    base = str(proxy.make_url("")).rstrip("/")
    names = {v: k for k, v in ids.items()}

    def shown() -> set[str]:
        # read in one go: the table is replaced while a filter loads
        return {names[i] for i in browser.execute_script(
            "return [...document.querySelectorAll('#logs tbody tr')].map((r) => r.dataset.id)")}

    def filter_feedback(choice: str, expected: set[str]) -> None:
        Select(browser.find_element(By.ID, "f-feedback")).select_by_value(choice)
        browser.find_element(By.ID, "apply").click()
        wait(browser, lambda d: shown() == expected)

    def cell(name: str, css: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{ids[name]}"] td.{css}').text

    def open_panel(name: str):
        browser.get(f"{base}/ui/logs/{ids[name]}")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel .images"))
        return browser.find_element(By.CSS_SELECTOR, "#panel .images")

    def loaded(img) -> int:
        wait(browser, lambda d: d.execute_script("return arguments[0].complete", img))
        return browser.execute_script("return arguments[0].naturalWidth", img)

    def drive():
        browser.get(base + "/ui")
        wait(browser, lambda d: len(rows(d)) == 5)
        assert {n: cell(n, "rtype") for n in ids} == {"vision": "chat", "claude": "messages", "generated": "image",
                                                      "liked": "chat", "disliked": "chat"}
        assert cell("vision", "thinking") == "64" and cell("liked", "thinking") == "0"
        assert cell("liked", "feedback") == "👍 1" and cell("disliked", "feedback") == "👎 0"
        assert cell("vision", "feedback") == ""

        filter_feedback("true", {"liked", "disliked"})
        filter_feedback("good", {"liked"})
        filter_feedback("bad", {"disliked"})
        filter_feedback("false", {"vision", "claude", "generated"})
        filter_feedback("", set(ids))

        images = open_panel("vision")
        imgs = images.find_elements(By.CSS_SELECTOR, "img")
        assert len(imgs) == 1 and imgs[0].get_attribute("src") == SENT_PNG and loaded(imgs[0]) == 5
        links = images.find_elements(By.CSS_SELECTOR, "a.remote-image")
        assert len(links) == 1  # a link, not fetched: the viewer's address stays with llmlog
        assert links[0].get_attribute("href").startswith("https://images.example.test/cat.png?x=")
        assert links[0].get_attribute("rel") == "noopener noreferrer"
        assert len(images.find_elements(By.CSS_SELECTOR, ".unsafe-image")) == len(HOSTILE_URLS)
        assert browser.execute_script(
            "return document.querySelector('#panel .images').closest('section').querySelector('h3').textContent"
        ) == "Images (5)"

        # and inline in the conversation, where the user sent them, not as "[image_url]"
        said = browser.find_element(By.CSS_SELECTOR, "#panel .conversation .msg.user")
        inline = said.find_elements(By.CSS_SELECTOR, "img")
        assert len(inline) == 1 and inline[0].get_attribute("src") == SENT_PNG and loaded(inline[0]) == 5
        assert "[image_url]" not in said.text and "what is in these" in said.text
        assert len(said.find_elements(By.CSS_SELECTOR, ".unsafe-image")) == len(HOSTILE_URLS)

        imgs = open_panel("claude").find_elements(By.CSS_SELECTOR, "img")
        assert len(imgs) == 1 and loaded(imgs[0]) == 5
        assert len(browser.find_elements(By.CSS_SELECTOR, "#panel .conversation img")) == 1  # Anthropic's block

        imgs = open_panel("generated").find_elements(By.CSS_SELECTOR, "img")
        assert len(imgs) == 1 and loaded(imgs[0]) == 8  # the fake's 8x6 PNG, from b64_json
        assert imgs[0].get_attribute("src") == "data:image/png;base64," + base64.b64encode(GENERATED_PNG).decode()
        assert imgs[0].get_attribute("alt") == HOSTILE_PROMPT  # the revised prompt as text, not markup
        assert browser.execute_script(  # the prompt stayed text everywhere the panel shows it
            "return document.querySelectorAll('#panel script, #panel [onerror], #panel [onload]').length") == 0
        assert len(browser.find_elements(By.CSS_SELECTOR, "#panel img")) == 1

        browser.get(base + "/ui")
        browser.find_element(By.ID, "tab-summary").click()
        wait(browser, lambda d: d.find_elements(By.ID, "card-feedback"))
        cards = {c: browser.find_element(By.CSS_SELECTOR, f"#{c} .big").text
                 for c in ("card-feedback", "card-feedback-avg", "card-feedback-scores")}
        assert cards == {"card-feedback": "2", "card-feedback-avg": "0.5", "card-feedback-scores": "1 × 1, 1 × 0"}
        return browser.execute_script("return [window.pwned, document.scripts.length]")

    pwned, scripts = await asyncio.to_thread(drive)
    assert pwned is None and scripts == 1
