"""Who made a call: the client's address as llmlog saw it, X-Forwarded-For believed only from a
trusted proxy (`server.trusted_proxies`). Pure; the pipeline applies it to the captured headers,
so the request path only notes the peer's address.

A hop of X-Forwarded-For is believed only when whoever appended it is trusted: walking the list
from its right end (the hop nearest llmlog), each entry names the client of the hop before it,
and the walk stops at the first address that is not a trusted proxy. A client that sends its own
X-Forwarded-For therefore never chooses the address logged: whatever it wrote lies left of the
first untrusted hop (itself).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxyError(ValueError):
    """A `server.trusted_proxies` entry that is no address or network."""


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8` as networks; TrustedProxyError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise TrustedProxyError(f"server.trusted_proxies: {entry!r} is not an IP address or network "
                                    "(e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def trusted_peer(peer: str | None, networks: tuple[Network, ...]) -> bool:
    """Whether the connection's peer is a trusted proxy, whose X-Forwarded-* headers are believed."""
    address = _address(peer) if peer else None
    return address is not None and _trusted(address, networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], networks: tuple[Network, ...]) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address
    in X-Forwarded-For (`forwarded_for`: the header's values in order) that is not a trusted proxy
    (the leftmost when all are). An unparseable hop ends the walk at the last believed address."""
    if not peer:
        return None
    if not networks:  # the usual set-up: no proxy trusted, nothing to parse
        return peer
    current = _address(peer)
    if current is None:
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        if not _trusted(current, networks):
            break
        address = _address(hop)
        if address is None:
            break
        current = address
    return str(current)
