"""Who may use llmlog from a browser: the Host must name llmlog, and the logs API only answers
its own origin (DESIGN §1): pure checks, and the middleware that applies them to every request.

DNS rebinding: a page on `attacker.example` re-points that name at 127.0.0.1 and then reads
`http://attacker.example:8080/v1/logs` as its own origin. The browser still sends
`Host: attacker.example`, so llmlog answers only Host values that name it: loopback names, IP
literals (a browser sends an address only when it connected to that address, so no name was
re-pointed), the configured listening host, and `server.allowed_hosts` for the names a load
balancer or a container network uses.

Cross-site requests: a page may send a "simple" request (GET, or a POST with a text/plain body)
anywhere without asking first. It cannot read llmlog's answer, but the request itself would act:
give feedback, start an export, or make a provider call with the key llmlog injects. Browsers say
where a request comes from (`Sec-Fetch-Site`, else `Origin`); only llmlog's own origin may.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from aiohttp import web

from llmlog.proxy.access.keys import key_refusal
from llmlog.proxy.access.local_paths import is_protected
from llmlog.proxy.access.signed_urls import UrlSigner
from llmlog.proxy.http_errors import error_response

# RFC 6761 §6.3: names that always mean this machine, and the usual /etc/hosts aliases.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# `Sec-Fetch-Site` values of a request a person or llmlog's own page made
OWN_SITE_VALUES = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def host_name(host: str) -> str:
    """The name in a Host value (or an allow-list entry), port dropped, lower case, no final dot:
    `Example.COM.:8080` → `example.com`, `[::1]:80` → `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The Host values llmlog answers: see the module's docstring. An allow-list entry is a name,
    `.example.com` or `*.example.com` for that domain and every name under it, or `*` for any."""

    def __init__(self, listen_host: str, allowed: Iterable[str] = ()):
        self.any = False
        self.names = set(LOOPBACK_NAMES)
        self.suffixes: list[str] = [".localhost"]
        # what the operator listed: the only names another Origin may carry (a load balancer
        # that rewrites Host), never the loopback names every local web server shares
        self.listed: set[str] = set()
        self.listed_suffixes: list[str] = []
        for entry in allowed:
            entry = entry.strip().lower()
            if entry == "*":
                self.any = True
            elif entry.startswith(("*.", ".")):
                domain = "." + entry.lstrip("*.").rstrip(".")
                if domain != ".":  # `.` or `*.` alone would allow every name
                    self.listed.add(domain[1:])
                    self.listed_suffixes.append(domain)
            elif host_name(entry):
                self.listed.add(host_name(entry))
        self.names |= self.listed
        self.suffixes += self.listed_suffixes
        if host_name(listen_host):
            self.names.add(host_name(listen_host))
        self._seen: set[str] = set()  # Host values already allowed: one set lookup per request

    def allows(self, host: str) -> bool:
        if self.any or host in self._seen:
            return True
        name = host_name(host)
        ok = name in self.names or name.endswith(tuple(self.suffixes)) or _is_ip(name)
        if ok and len(self._seen) < 1024:
            self._seen.add(host)
        return ok


def _origin_netloc(origin: str) -> str | None:
    """`scheme://host[:port]` of an Origin header as `host[:port]`, default port dropped."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or str(port) == _DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"


def _host_netloc(host: str) -> str:
    host = host.strip().lower()
    for port in _DEFAULT_PORTS.values():
        if host.endswith(":" + port):
            return host[:-len(port) - 1]
    return host


def is_cross_origin(headers: Mapping[str, str], policy: HostPolicy) -> bool:
    """Whether a browser sent this request from another origin (programs send neither header).
    Same origin: the Origin's host and port are the request's Host (another port on localhost is
    another web server, another origin)."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.strip().lower() not in OWN_SITE_VALUES
    origin = headers.get("Origin")
    if origin is None:
        return False
    netloc = _origin_netloc(origin)
    if netloc is None:  # "null" (a sandboxed frame, a file: page) or garbage
        return True
    if netloc == _host_netloc(headers.get("Host", "")):
        return False
    # behind a load balancer that rewrites Host, the page's own public name is in the allow-list
    name = host_name(netloc)
    return not (policy.any or name in policy.listed or name.endswith(tuple(policy.listed_suffixes)))


def guard(policy: HostPolicy, api_keys: Sequence[str],
          limits: Callable[[web.Request], web.Response | None] | None = None):
    """The middleware in front of every route: a Host that names llmlog, then for the logs API
    its own origin only and, when keys are configured, a valid key (or, for an export file, a
    URL signed for it: proxy/access/signed_urls.py), then `limits` (proxy/access/rate_limit.py).
    One middleware, so a proxied call pays for one path check, not one per concern."""
    keys = [key.encode() for key in api_keys]
    signer = UrlSigner(api_keys)

    @web.middleware
    async def guard_middleware(request: web.Request, handler):
        host = request.headers.get("Host")
        if host is not None and not policy.allows(host):
            return error_response(
                403, f"llmlog does not answer to the host name {host_name(host)!r} (a protection against DNS "
                "rebinding); add it to server.allowed_hosts (LLMLOG_ALLOWED_HOSTS) if clients reach llmlog by it",
                param="Host")
        target = request.raw_path
        if not target.startswith("/"):  # absolute form names the host in the target, which wins (RFC 9112 §3.2.2)
            named = urlsplit(target).netloc
            if not named or not policy.allows(named):
                return error_response(403, "llmlog answers only request targets that name it", param="Host")
        if is_protected(request.path):
            # a signed export link is its own credential, whichever page links to it; it reads nothing
            # else, and without CORS headers another page's script still cannot read the file
            signed = keys and request.method in ("GET", "HEAD") and signer.allows(request.path, request.query,
                                                                                time.time())
            if not signed:
                if is_cross_origin(request.headers, policy):
                    return error_response(403, "the logs API answers only its own origin, not a request another "
                                          "web page made", param="Origin")
                if keys and (refusal := key_refusal(request, keys)) is not None:
                    return refusal
            if limits is not None and (refusal := limits(request)) is not None:
                return refusal
        return await handler(request)

    return guard_middleware
