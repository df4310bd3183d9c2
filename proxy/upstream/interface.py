"""What the request path needs from an upstream client, and the errors every client raises (each a
kind of proxy/errors.py's UpstreamFailure, and an OSError as asyncio's transports expect).

Two clients meet it: llmlog's own (`client.py`, the default) and aiohttp's ClientSession
(`aiohttp_client.py`, `upstream.client = "aiohttp"`, for users behind an egress proxy). The
request path (proxy/forward/handler.py) sees only this.
"""

from __future__ import annotations

from typing import Protocol

from proxy import errors


class UpstreamDisconnected(errors.UpstreamBroken):
    """The upstream closed the connection before its answer was complete."""


class UpstreamUnreachable(errors.UpstreamUnreachable):
    """No connection could be opened (name not found, refused, TLS failed)."""


class UpstreamConnectTimeout(errors.UpstreamTimeout):
    """No connection within the connect timeout."""


class UpstreamProtocolError(errors.UpstreamBroken):
    """The exchange broke HTTP/1.1's rules: the answer's framing (the connection is dropped), or a
    request header that cannot be sent."""


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


__all__ = ["Upstream", "UpstreamAnswer", "UpstreamConnectTimeout", "UpstreamDisconnected", "UpstreamProtocolError",
           "UpstreamUnreachable"]
