"""The optional upstream client, `upstream.client = "aiohttp"`: aiohttp's ClientSession behind the
same interface as llmlog's own (interface.py), for users who reach providers through an egress proxy.

The session trusts the environment (`trust_env`): HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured,
and so is ~/.netrc, as aiohttp reads them. It costs more CPU a call than llmlog's own client (the
reason that one exists: bench/README.md, "The upstream client"), so it is not the default. Like it,
it passes bytes through as sent: no decompression, no cookies, no redirects followed, no headers
of its own beyond Host and Content-Length (tests/upstream/test_both_clients.py compares the two).
Where it is laxer, as aiohttp is: it accepts bare-LF line ends, and a body that ends at close
(HTTP/1.0 style) and is cut by a reset passes for whole.
"""

from __future__ import annotations

import ssl

import aiohttp
from yarl import URL

from proxy.headers import field_tokens
from proxy.upstream.client import IDLE_TIMEOUT_S, Origin
from proxy.upstream.interface import (
    UpstreamConnectTimeout,
    UpstreamDisconnected,
    UpstreamProtocolError,
    UpstreamUnreachable,
)
from proxy.upstream.wire import check_headers

# headers aiohttp adds when the caller sent none; the proxy forwards only what the client sent
AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class AiohttpAnswer:
    """An answer in progress from aiohttp (the UpstreamAnswer of interface.py)."""

    __slots__ = ("status", "reason", "headers", "_response", "_origin", "_received", "_ended")

    def __init__(self, response: aiohttp.ClientResponse, origin: Origin):
        self.status = response.status
        self.reason = response.reason or ""
        # as sent: aiohttp keeps the raw bytes beside its case-insensitive view
        self.headers = [(name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
                        for name, value in response.raw_headers]
        self._response = response
        self._origin = origin
        self._received = 0
        self._ended = False

    async def read(self) -> bytes:
        try:
            piece = await self._response.content.readany()
        except aiohttp.ServerTimeoutError:
            raise TimeoutError() from None
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            raise UpstreamDisconnected(f"upstream disconnected {self._cut_short()} ({_describe(exc)})") from None
        self._received += len(piece)
        self._ended = not piece
        return piece

    def _cut_short(self) -> str:
        """Where the body stood, in the words llmlog's own client uses."""
        lengths = field_tokens(self.headers, "content-length")
        if lengths and not field_tokens(self.headers, "transfer-encoding"):
            return f"with {self._received} of the {lengths[0]} bytes its Content-Length declared"
        return "before the end of its body"

    def release(self) -> None:
        if self._ended:
            self._response.release()  # read whole: the connection goes back to the pool
        else:
            self._response.close()  # mid-answer: the connection cannot carry another request


class AiohttpUpstream:
    """A ClientSession with llmlog's timeouts and pass-through settings (the Upstream of interface.py)."""

    def __init__(self, *, connect_timeout_s: float | None, read_timeout_s: float | None,
                 idle_timeout_s: float = IDLE_TIMEOUT_S):
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._origins: dict[str, Origin] = {}
        self._session: aiohttp.ClientSession | None = None  # opened by the first request, on the running loop
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            # made here, on the running loop; the trust store is read now, as llmlog's own client
            # reads it (SSL_CERT_FILE honoured), not when aiohttp was imported
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=self.idle_timeout_s,
                                             ssl=ssl.create_default_context())
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout_s,
                                            sock_read=self.read_timeout_s)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=timeout, trust_env=True, auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=AUTO_HEADERS)
        return self._session

    def origin(self, base_url: str) -> Origin:
        origin = self._origins.get(base_url)
        if origin is None:
            origin = self._origins[base_url] = Origin.parse(base_url)
        return origin

    async def request(self, method: str, base_url: str, target: str, headers: list[tuple[str, str]],
                      body: bytes) -> AiohttpAnswer:
        origin = self.origin(base_url)
        try:
            check_headers(headers)
            for _, value in headers:
                value.encode("utf-8")  # aiohttp sends header text as UTF-8, so undecodable bytes cannot go
        except (ValueError, UnicodeEncodeError) as exc:
            reason = "a request header holds bytes that are not UTF-8" if isinstance(exc, UnicodeEncodeError) else exc
            raise UpstreamProtocolError(f"request not sent: {reason}") from None
        if self._closed:
            raise UpstreamDisconnected("llmlog is shutting down")
        url = URL(f"{origin.scheme}://{origin.host_header}{origin.base_path}{target}", encoded=True)
        where = f"{origin.host}:{origin.port}"
        try:
            response = await self._open().request(method, url, headers=headers, data=body or None,
                                                  allow_redirects=False)
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamConnectTimeout(f"no connection to {where} within {self.connect_timeout_s:g} s") from None
        except aiohttp.ServerTimeoutError:
            raise TimeoutError() from None
        except aiohttp.ClientConnectorError as exc:  # DNS, refused, TLS, an unreachable proxy
            raise UpstreamUnreachable(f"cannot connect to {where}: {_describe(exc)}") from exc
        except aiohttp.ClientHttpProxyError as exc:  # the egress proxy refused the call or the tunnel
            raise UpstreamUnreachable(f"the proxy refused the call to {where}: {exc.status} {exc.message}") from None
        except aiohttp.ServerDisconnectedError:
            raise UpstreamDisconnected("upstream disconnected before answering") from None
        except aiohttp.ClientResponseError as exc:  # the answer's head could not be parsed
            raise UpstreamProtocolError(f"invalid HTTP from upstream: {exc.message}") from None
        except (aiohttp.ClientError, ValueError) as exc:  # a proxy refusing CONNECT; a netrc credential
            raise UpstreamDisconnected(f"upstream exchange failed: {_describe(exc)}") from None  # beside Authorization
        return AiohttpAnswer(response, origin)

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


__all__ = ["AiohttpAnswer", "AiohttpUpstream"]
