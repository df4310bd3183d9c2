"""Helicone's, LiteLLM's and Portkey's headers, through the proxy: the same call made with a peer's
headers lands with the same user, session or trace, tags and metadata as with llmlog's own, and none
of them reaches the provider."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import CHAT, chat_body, flushed
from tests.fakes.raw_http import raw_request

pytestmark = pytest.mark.backends

LLMLOG_NAMES = {"x-llmlog-user", "x-llmlog-session", "x-llmlog-trace-id", "x-llmlog-tags", "x-llmlog-metadata"}
PEER_NAMES = {"helicone-user-id", "helicone-session-id", "helicone-request-id", "helicone-property-team",
              "helicone-property-stage", "x-litellm-tags", "x-litellm-spend-logs-metadata", "x-litellm-end-user-id",
              "x-portkey-trace-id", "x-portkey-metadata"}
META = {"team": "search", "stage": "beta"}

# each family beside llmlog's own headers saying the same
FAMILIES = {
    "helicone": (
        {"Helicone-User-Id": "u-7", "Helicone-Session-Id": "s-1",
         "Helicone-Property-Team": "search", "Helicone-Property-Stage": "beta"},
        {"x-llmlog-user": "u-7", "x-llmlog-session": "s-1", "x-llmlog-metadata": orjson.dumps(META).decode()},
        {}),
    "litellm": (
        {"x-litellm-end-user-id": "u-7", "x-litellm-tags": "prod, batch",
         "x-litellm-spend-logs-metadata": orjson.dumps(META).decode()},
        {"x-llmlog-user": "u-7", "x-llmlog-tags": "prod,batch,nightly",
         "x-llmlog-metadata": orjson.dumps(META).decode()},
        {"metadata": {"tags": ["nightly", "prod"]}}),  # the body's tags join the header's
    "portkey": (
        {"x-portkey-trace-id": "t-9", "x-portkey-metadata": orjson.dumps({"_user": "u-7", **META}).decode()},
        {"x-llmlog-user": "u-7", "x-llmlog-trace-id": "t-9", "x-llmlog-metadata": orjson.dumps(META).decode()},
        {}),
}


async def call(proxy, headers: dict[str, str], **body) -> str:
    resp = await proxy.post(CHAT, data=chat_body("hello", **body), headers={"Content-Type": "application/json",
                                                                           **headers})
    assert resp.status == 200, await resp.text()
    await resp.read()
    return resp.headers["x-llmlog-id"]


async def landed(proxy, call_id: str) -> dict:
    entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
    return {"user": entry["user_id"], "session": entry["session_id"], "trace": entry["trace_id"],
            "tags": entry["tags"], "metadata": entry["metadata"]["custom"]}


def names_received(fake) -> set[str]:
    return {name.lower() for received in fake.received for name, _ in received["headers"]}


@pytest.mark.parametrize("family", sorted(FAMILIES))
async def test_a_peers_headers_land_as_llmlogs_own_and_are_stripped(proxy, fake, family):
    peer, own, body = FAMILIES[family]
    with_peer = await call(proxy, peer, **body)
    with_own = await call(proxy, own)
    await flushed(proxy)
    assert not names_received(fake) & (PEER_NAMES | LLMLOG_NAMES)
    assert [r["body"] for r in fake.received] == [chat_body("hello", **body), chat_body("hello")]  # as sent
    got, expected = await landed(proxy, with_peer), await landed(proxy, with_own)
    assert got == expected
    assert got["user"] == "u-7" and got["metadata"] == META  # not both empty


async def test_llmlogs_own_headers_win_and_lists_join(proxy, fake):
    call_id = await call(proxy, {
        "x-llmlog-user": "own", "Helicone-User-Id": "helicone", "x-litellm-end-user-id": "litellm",
        "x-llmlog-session": "own-s", "Helicone-Session-Id": "helicone-s",
        "x-llmlog-trace-id": "own-t", "x-portkey-trace-id": "portkey-t",
        "x-llmlog-tags": "a,b", "x-litellm-tags": "b,c",
        "x-llmlog-metadata": '{"team": "own", "x": 1}', "Helicone-Property-Team": "helicone",
        "x-portkey-metadata": '{"team": "portkey", "y": 2}', "Helicone-Request-Id": "9f1c-uuid"})
    await flushed(proxy)
    assert await landed(proxy, call_id) == {
        "user": "own", "session": "own-s", "trace": "own-t", "tags": ["a", "b", "c"],
        "metadata": {"team": "own", "x": 1, "y": 2, "helicone_request_id": "9f1c-uuid"}}
    assert call_id != "9f1c-uuid"  # llmlog's ids are its own: unique and time-sortable

    # among peers: Helicone, then LiteLLM, then Portkey; then the body's `user`
    second = await call(proxy, {"x-litellm-end-user-id": "litellm",
                                "x-portkey-metadata": '{"_user": "portkey"}'}, user="body")
    third = await call(proxy, {}, user="body")
    await flushed(proxy)
    assert [(await landed(proxy, i))["user"] for i in (second, third)] == ["litellm", "body"]


@pytest.mark.parametrize(("headers", "lands"), [
    ({"x-portkey-metadata": "{not json", "x-litellm-spend-logs-metadata": "[1, 2]"}, {}),
    ({"x-portkey-metadata": '"a string"', "Helicone-Property-Team": "  "}, {}),
    ({"x-litellm-spend-logs-metadata": '{"deep": ' + "[" * 32 + "]" * 32 + "}"}, {}),  # 33 levels, over 32
    ({"Helicone-User-Id": "u" * 257, "Helicone-Session-Id": "s" * 257, "x-portkey-trace-id": "t" * 300,
      "Helicone-Request-Id": "r" * 257}, {}),
    ({"x-litellm-tags": ",".join(f"t{i}" for i in range(70))}, {"tags": [f"t{i}" for i in range(64)]}),
])
async def test_a_peers_unusable_value_is_dropped_and_the_call_goes_through(proxy, fake, headers, lands):
    call_id = await call(proxy, headers)
    await flushed(proxy)
    assert not names_received(fake) & PEER_NAMES
    assert fake.received[0]["body"] == chat_body("hello")
    expected = {"user": None, "session": None, "trace": None, "tags": [], "metadata": None}
    assert await landed(proxy, call_id) == {**expected, **lands}


async def test_bytes_that_are_not_utf8_in_a_helicone_property_still_land(proxy, fake):
    """A header value is bytes: one that is not UTF-8 is kept readable (U+FFFD), not lost with the entry."""
    body = chat_body("hello")
    status, answer = await raw_request(proxy, b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                                       + b"\r\nHelicone-Property-Cafe: ok\xff\r\nHelicone-User-Id: u-\xe9", body)
    assert status == 200, answer
    call_id = answer.split(b"x-llmlog-id: ", 1)[1].split(b"\r\n", 1)[0].decode()
    await flushed(proxy)
    assert not names_received(fake) & PEER_NAMES
    got = await landed(proxy, call_id)
    assert (got["user"], got["metadata"]) == ("u-\ufffd", {"cafe": "ok\ufffd"})
