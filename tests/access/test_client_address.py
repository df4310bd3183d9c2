"""Who made a call: X-Forwarded-For believed only as far as trusted proxies appended it."""

from __future__ import annotations

import pytest

from llmlog.proxy.access.client_address import TrustedProxyError, client_address, trusted_networks

TRUSTED = trusted_networks(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("192.0.2.1", [], TRUSTED, "192.0.2.1"),  # a direct client
    ("192.0.2.1", ["203.0.113.9"], TRUSTED, "192.0.2.1"),  # an untrusted peer's header is ignored
    ("127.0.0.1", ["203.0.113.9"], (), "127.0.0.1"),  # no trusted proxies: never believed
    ("127.0.0.1", ["203.0.113.9"], TRUSTED, "203.0.113.9"),
    ("127.0.0.1", ["198.51.100.1, 203.0.113.9, 10.0.0.2"], TRUSTED, "203.0.113.9"),  # stops at the first untrusted
    ("127.0.0.1", ["198.51.100.1", "203.0.113.9"], TRUSTED, "203.0.113.9"),  # repeated headers in order
    ("127.0.0.1", ["10.0.0.3, 10.0.0.2"], TRUSTED, "10.0.0.3"),  # all trusted: the leftmost
    ("127.0.0.1", ["not-an-ip, 10.0.0.2"], TRUSTED, "10.0.0.2"),  # garbage ends the walk at the last believed
    ("127.0.0.1", ["203.0.113.9:4711"], TRUSTED, "203.0.113.9"),  # a port is dropped
    ("127.0.0.1", ["[2001:db8::1]:443"], TRUSTED, "2001:db8::1"),
    ("::ffff:127.0.0.1", ["203.0.113.9"], TRUSTED, "203.0.113.9"),  # a v4-mapped peer is its v4 address
    (None, ["203.0.113.9"], TRUSTED, None),  # no peer (a Unix socket)
])
def test_client_address(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted) == expected


def test_a_bad_entry_is_named():
    with pytest.raises(TrustedProxyError, match="'proxy.internal' is not an IP address or network"):
        trusted_networks(["10.0.0.1", "proxy.internal"])
