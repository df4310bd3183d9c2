"""Each way the upstream client fails reaches the client as the status its class stands for
(proxy/errors.py, mapped once in proxy/http_errors.py), and the call is logged with it (DESIGN §4).

The faults themselves are made real in test_faults.py; here the client raises each of its
exceptions directly, so a connect timeout (which needs an address that never answers) is covered too.
"""

from __future__ import annotations

import pytest

from llmlog.proxy.state import FORWARDER
from llmlog.proxy.upstream.client import (
    UpstreamConnectTimeout,
    UpstreamDisconnected,
    UpstreamProtocolError,
    UpstreamUnreachable,
)
from tests.conftest import chat_body, flushed

CHAT = "/v1/chat/completions"


class FailingClient:
    """The upstream client, failing before any byte of an answer arrived."""

    def __init__(self, error: Exception):
        self.error = error

    async def request(self, *args, **kwargs):
        raise self.error


@pytest.mark.parametrize("error, status, kind, logged", [
    (UpstreamConnectTimeout("no connection to h:1 within 5 s"), 504, "upstream_timeout", "timeout"),
    (UpstreamUnreachable("cannot connect to h:1: refused"), 502, "upstream_unreachable", "error"),
    (UpstreamDisconnected("upstream disconnected before the status line"), 502, "upstream_unreachable", "error"),
    (UpstreamProtocolError("invalid HTTP from upstream: bad status line"), 502, "upstream_unreachable", "error"),
])
async def test_each_upstream_failure_is_answered_and_logged_by_its_class(make_proxy, error, status, kind, logged):
    client = await make_proxy()
    client.app[FORWARDER].client = FailingClient(error)
    resp = await client.post(CHAT, data=chat_body())
    body = await resp.json()
    assert (resp.status, body["error"]["type"]) == (status, kind)
    assert str(error) in body["error"]["message"]
    await flushed(client)
    entry = await (await client.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert (entry["status"], entry["status_code"]) == (logged, status)
    assert str(error) in entry["error"]
