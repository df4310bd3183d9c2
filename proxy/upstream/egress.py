"""Which egress proxy the environment names for an origin: HTTP_PROXY for http://, HTTPS_PROXY for
https://, neither for a host NO_PROXY lists (lower-case names first), read through urllib's
`getproxies` and `proxy_bypass` as aiohttp's `trust_env` reads them.

aiohttp's own reading is not used: `trust_env` also reads ~/.netrc (or $NETRC) and adds its
credentials to every call, as `Authorization: Basic …` to the provider beside the caller's key, and as
`Proxy-Authorization` to the proxy. llmlog passes calls through as sent, so only credentials written
into the proxy's URL (`http://user:password@proxy:3128`) are ever sent, and only to the proxy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.request import getproxies, proxy_bypass

from llmlog.proxy.upstream.interface import Origin, origin_of

log = logging.getLogger("llmlog")


@dataclass(frozen=True, slots=True)
class EgressProxy:
    url: str  # as the variable holds it, credentials included, "http://" added when it names no scheme
    variable: str  # the environment variable that named it, e.g. "HTTPS_PROXY"


def egress_proxy(origin: Origin) -> EgressProxy | None:
    """The proxy calls to `origin` go through, or None: straight to it."""
    if proxy_bypass(origin.host):
        return None
    value = getproxies().get(origin.scheme)
    if not value:
        return None
    url = value if "://" in value else f"http://{value}"  # "proxy:3128", as curl and requests read it
    variable = _variable_of(origin.scheme, value)
    if not url.lower().startswith("http://"):  # aiohttp speaks plain HTTP to a proxy, as it did with trust_env
        log.warning("%s names a proxy that is not http:// (only those are supported); calls to %s go straight "
                    "to it", variable, origin.host)
        return None
    return EgressProxy(url, variable)


def proxy_variables(base_urls: Iterable[str]) -> list[str]:
    """The environment variables naming a proxy that calls to any of these base URLs would go through."""
    found = {proxy.variable for proxy in map(egress_proxy, map(origin_of, base_urls)) if proxy is not None}
    return sorted(found)


def _variable_of(scheme: str, value: str) -> str:
    """Which variable holds `value` (urllib prefers the lower-case name when both are set)."""
    wanted = f"{scheme}_proxy"
    if os.environ.get(wanted) == value:
        return wanted
    named = [name for name, held in os.environ.items() if name.lower() == wanted and held == value]
    return named[0] if named else f"the system's {scheme} proxy setting"  # macOS and Windows: not the environment


__all__ = ["EgressProxy", "egress_proxy", "proxy_variables"]
