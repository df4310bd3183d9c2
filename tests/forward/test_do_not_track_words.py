"""A do-not-track header (DESIGN §3) is read with the one true/false vocabulary and never fails open:
a value outside it is a 400 naming the header, before anything is forwarded or logged; an empty
value is as if the header were absent; DESIGN §3's words keep their meaning."""

from __future__ import annotations

import pytest

from tests.conftest import CHAT, chat_body, flushed

HEADERS = ("x-debug", "x-portkey-debug", "helicone-omit-request", "helicone-omit-response")
TYPOS = ("y", "n", "2", "-1", "00", "t", "f", "enabled", "nope", "fasle", "true false")


async def test_a_value_outside_the_words_is_a_400_naming_the_header_and_nothing_is_forwarded(make_proxy, fake):
    client = await make_proxy()
    for name in HEADERS:
        for word in TYPOS:
            resp = await client.post(CHAT, data=chat_body("meant to stay private"), headers={name: word})
            assert resp.status == 400, (name, word, resp.status)
            error = (await resp.json())["error"]
            assert error["param"] == name and error["type"] == "invalid_request_error", error
            assert name in error["message"] and repr(word) in error["message"], error
            assert "x-llmlog-id" in resp.headers
    assert fake.received == []  # not one of them reached the provider
    await flushed(client)
    assert (await (await client.get("/v1/logs")).json())["total"] == 0  # nor the log


@pytest.mark.parametrize("name, word, private", [
    ("x-debug", "false", True), ("x-debug", "0", True), ("x-debug", "no", True), ("x-debug", " OFF ", True),
    ("x-debug", "true", False), ("x-debug", "1", False), ("x-portkey-debug", "False", True),
    ("x-portkey-debug", "yes", False), ("helicone-omit-request", "true", True),
    ("helicone-omit-request", "off", False), ("helicone-omit-response", "ON", True),
    ("x-debug", "", False), ("helicone-omit-request", "", False),  # empty: as if not sent
])
async def test_the_words_of_design_3_keep_their_meaning(make_proxy, fake, name, word, private):
    client = await make_proxy()
    resp = await client.post(CHAT, data=chat_body("zebra words"), headers={name: word})
    assert resp.status == 200, await resp.text()
    assert len(fake.received) == 1
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["do_not_track"] is private
    assert ("prompt" in entry) is not private


async def test_one_refused_header_refuses_the_call_even_beside_a_valid_one(make_proxy, fake):
    client = await make_proxy()
    resp = await client.post(CHAT, data=chat_body("x"), headers={"x-debug": "false", "helicone-omit-request": "y"})
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "helicone-omit-request"
    assert fake.received == []


@pytest.mark.parametrize("copies, outcome", [
    ([("x-debug", "true"), ("x-debug", "false")], "private"),
    ([("x-debug", ""), ("x-debug", "false")], "private"),
    ([("helicone-omit-request", "false"), ("helicone-omit-request", "true")], "private"),
    ([("x-debug", "false"), ("x-debug", "y")], 400),
    ([("x-debug", "true"), ("x-debug", "1")], "tracked"),
])
async def test_every_copy_of_a_repeated_header_counts(make_proxy, fake, copies, outcome):
    """A header sent twice (one copy added on the way) never fails open: any copy asking for
    do-not-track is obeyed, and any copy outside the words refuses the call."""
    client = await make_proxy()
    resp = await client.post(CHAT, data=chat_body("zebra words"), headers=copies)
    if outcome == 400:
        assert resp.status == 400 and fake.received == []
        return
    assert resp.status == 200
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["do_not_track"] is (outcome == "private")
