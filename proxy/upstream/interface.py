"""What the request path needs from an upstream client, the errors every client raises (each a
kind of proxy/errors.py's UpstreamFailure, and an OSError as asyncio's transports expect), and what
both clients share: where a base URL's requests go (`origin_of`) and how an error reads (`describe`).

Two clients meet it: llmlog's own (`client.py`, the default) and aiohttp's ClientSession
(`aiohttp_client.py`, `upstream.client = "aiohttp"`, for users behind an egress proxy). The
request path (proxy/forward/handler.py) sees only this.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit

from llmlog.proxy import errors
from llmlog.proxy.settings import base_url_problem

# "101 Switching Protocols" is never a valid answer: the proxy asks for no upgrade (Upgrade is hop-by-hop, stripped)
UNASKED_UPGRADE = "101 Switching Protocols to a request that asked for no upgrade"


class UpstreamDisconnected(errors.UpstreamBroken):
    """The upstream closed the connection before its answer was complete."""


class UpstreamUnreachable(errors.UpstreamUnreachable):
    """No connection could be opened (name not found, refused, TLS failed)."""


class UpstreamConnectTimeout(errors.UpstreamTimeout):
    """No connection within the connect timeout."""


class UpstreamProtocolError(errors.UpstreamBroken):
    """The exchange broke HTTP/1.1's rules: the answer's framing (the connection is dropped), or a
    request header that cannot be sent."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a provider's requests go: scheme, host and port, plus the base URL's path prefix."""

    scheme: str
    host: str
    port: int
    host_header: str
    base_path: str

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        problem = base_url_problem(base_url)  # config refuses these at start; a Provider built by hand may not
        if problem:
            raise ValueError(problem)
        parts = urlsplit(base_url)
        host = parts.hostname
        if host is None:  # base_url_problem refuses a URL without one
            raise ValueError(f"{base_url!r} names no host")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        shown = f"[{host}]" if ":" in host else host if host.isascii() else host.encode("idna").decode("ascii")
        return cls(parts.scheme, host, port, shown if port == default else f"{shown}:{port}", parts.path)


@lru_cache(maxsize=256)
def origin_of(base_url: str) -> Origin:
    """The Origin of a provider's base URL, parsed once: every call to a provider names the same one."""
    return Origin.parse(base_url)


def describe(exc: BaseException) -> str:
    """An error in words: some client errors have an empty message; their class name still says what happened."""
    return str(exc) or type(exc).__name__


class UpstreamAnswer(Protocol):
    """An answer in progress: status, reason and headers as sent; `read()` gives the body's next
    piece as it arrived (b"" at its end; asyncio.TimeoutError past the read timeout, another
    ConnectionError if the answer breaks off). `release()` returns the connection to the pool when
    the body was read whole, and closes it otherwise; call it exactly once, in a `finally`."""

    status: int
    reason: str
    headers: list[tuple[str, str]]

    async def read(self) -> bytes: ...

    def release(self) -> None: ...


class Upstream(Protocol):
    """Sends requests to providers over pooled connections; no limit on how many are open at once."""

    async def request(self, method: str, base_url: str, target: str, headers: list[tuple[str, str]],
                      body: bytes) -> UpstreamAnswer:
        """Send one request and wait for the answer's head (interim 1xx answers skipped). `target`
        is the path and query as sent, appended to the base URL's own path; `headers` go as given,
        plus Host and Content-Length. Raises UpstreamConnectTimeout, asyncio.TimeoutError (no head
        within the read timeout), or a ConnectionError (UpstreamUnreachable, UpstreamDisconnected,
        UpstreamProtocolError)."""
        ...

    async def close(self) -> None:
        """No further requests; idle connections closed, answering ones when their call ends."""
        ...


__all__ = ["UNASKED_UPGRADE", "Origin", "Upstream", "UpstreamAnswer", "UpstreamConnectTimeout", "UpstreamDisconnected",
           "UpstreamProtocolError", "UpstreamUnreachable", "describe", "origin_of"]
