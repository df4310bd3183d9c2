"""The optional upstream client, `upstream.client = "aiohttp"`: aiohttp's ClientSession behind the
same interface as llmlog's own (interface.py), for users who reach providers through an egress proxy.

HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured (egress.py reads them once per origin and passes
the proxy with each call), but not through aiohttp's `trust_env`, which would also read ~/.netrc
and add its credentials to calls that carry their own key. It costs more CPU a call than llmlog's
own client (the reason that one exists: bench/README.md, "The upstream client"), so it is not the
default. Like it, it passes bytes through as sent: no decompression, no cookies, no redirects
followed, no headers of its own beyond Host and Content-Length (tests/upstream/test_both_clients.py
compares the two), and it ends a call the same way on a broken answer: a 101, bad chunk framing
(the client's connection cut, the reason logged), silence past `upstream.read_timeout_s`.

Where it differs, as aiohttp's parser does (tests mark those cases `llmlog_client_only`, e.g. in
the fault matrix, tests/forward/test_faults.py): it accepts bare-LF line ends in a head, which
llhttp refuses anywhere (the leniency behind request-smuggling bugs); it refuses a header line over
8190 bytes, where llmlog's client limits the whole head to 64 KiB; and a body that ends at close
(HTTP/1.0 style) and is cut by a reset passes for whole.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from functools import partial
from weakref import WeakKeyDictionary

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from llmlog.proxy.headers import field_tokens
from llmlog.proxy.upstream.client import IDLE_TIMEOUT_S
from llmlog.proxy.upstream.egress import egress_proxy
from llmlog.proxy.upstream.interface import (
    UNASKED_UPGRADE,
    Origin,
    UpstreamConnectTimeout,
    UpstreamDisconnected,
    UpstreamProtocolError,
    UpstreamUnreachable,
    describe,
    origin_of,
)
from llmlog.proxy.upstream.wire import check_headers

# headers aiohttp adds when the caller sent none; the proxy forwards only what the client sent
AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class AiohttpAnswer:
    """An answer in progress from aiohttp (the UpstreamAnswer of interface.py)."""

    __slots__ = ("status", "reason", "headers", "_response", "_read_timeout_s", "_received", "_ended", "_released",
                 "_broken", "__weakref__")

    def __init__(self, response: aiohttp.ClientResponse, read_timeout_s: float | None):
        self.status = response.status
        self.reason = response.reason or ""
        # as sent: aiohttp keeps the raw bytes beside its case-insensitive view
        self.headers = [(name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
                        for name, value in response.raw_headers]
        self._response = response
        self._read_timeout_s = read_timeout_s or None
        self._received = 0
        self._ended = False
        self._released = False
        self._broken: ConnectionError | None = None  # why the connection closed mid-body, when aiohttp does not say

    def connection_lost(self, protocol: ResponseHandler) -> None:
        """The connection carrying this answer closed. aiohttp closes it on bad body framing (a chunk
        size that is no number) but leaves the body's reader waiting, its read timeout dropped: the
        call would hang. So when the body is unfinished and its reader has no error, the reader is
        ended here, and `read` raises the error aiohttp's parser recorded once what arrived is read."""
        content = self._response.content
        if self._released or content.is_eof() or content.exception() is not None:
            return  # whole, or aiohttp's reader has the error already (a reset, a short body)
        failure = protocol.exception()
        if isinstance(failure, HttpProcessingError):
            self._broken = UpstreamProtocolError(f"invalid HTTP from upstream: {_first_line(failure.message)}")
        else:
            self._broken = UpstreamDisconnected(f"upstream disconnected {self._cut_short()}")
        content.feed_eof()

    async def read(self) -> bytes:
        try:
            async with asyncio.timeout(self._read_timeout_s):  # aiohttp's sock_read, where aiohttp drops it
                piece = await self._response.content.readany()
        except aiohttp.ServerTimeoutError:
            raise TimeoutError() from None
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            raise UpstreamDisconnected(f"upstream disconnected {self._cut_short()} ({describe(exc)})") from None
        if not piece and self._broken is not None:
            raise self._broken
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
        self._released = True
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
        self._proxies: dict[Origin, str | None] = {}  # read from the environment once per origin
        # each connection that carried an answer, watched from then on (once: it outlives the answer), and the
        # answer it carries now (neither kept alive by this)
        self._carrying: WeakKeyDictionary[ResponseHandler, weakref.ref[AiohttpAnswer]] = WeakKeyDictionary()
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
            # trust_env stays False: it would read ~/.netrc and add its credentials (egress.py)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=timeout, trust_env=False, auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=AUTO_HEADERS)
        return self._session

    def _proxy(self, origin: Origin) -> str | None:
        if origin not in self._proxies:
            proxy = egress_proxy(origin)
            self._proxies[origin] = proxy.url if proxy is not None else None
        return self._proxies[origin]

    async def request(self, method: str, base_url: str, target: str, headers: list[tuple[str, str]],
                      body: bytes) -> AiohttpAnswer:
        origin = origin_of(base_url)
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
                                                  allow_redirects=False, proxy=self._proxy(origin))
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamConnectTimeout(f"no connection to {where} within {self.connect_timeout_s:g} s") from None
        except aiohttp.ServerTimeoutError:
            raise TimeoutError() from None
        except aiohttp.ClientConnectorError as exc:  # DNS, refused, TLS, an unreachable proxy
            raise UpstreamUnreachable(f"cannot connect to {where}: {describe(exc)}") from exc
        except aiohttp.ClientHttpProxyError as exc:  # the egress proxy refused the call or the tunnel
            raise UpstreamUnreachable(f"the proxy refused the call to {where}: {exc.status} {exc.message}") from None
        except aiohttp.ServerDisconnectedError:
            raise UpstreamDisconnected("upstream disconnected before answering") from None
        except aiohttp.ClientResponseError as exc:  # the answer's head could not be parsed
            raise UpstreamProtocolError(f"invalid HTTP from upstream: {_first_line(exc.message)}") from None
        except (aiohttp.ClientError, ValueError) as exc:  # a proxy refusing CONNECT; a proxy URL that is none
            raise UpstreamDisconnected(f"upstream exchange failed: {describe(exc)}") from None
        if response.status == 101:  # aiohttp takes it for a final answer and would hand over the upgraded stream
            response.close()
            raise UpstreamProtocolError(f"invalid HTTP from upstream: {UNASKED_UPGRADE}")
        answer = AiohttpAnswer(response, self.read_timeout_s)
        self._watch(response, answer)
        return answer

    def _watch(self, response: aiohttp.ClientResponse, answer: AiohttpAnswer) -> None:
        """Tell `answer` when its connection closes before its body is whole (AiohttpAnswer.connection_lost)."""
        connection = response.connection
        protocol = connection.protocol if connection is not None else None
        if protocol is None or response.content.is_eof():
            return
        if protocol not in self._carrying:
            closed = protocol.closed
            if closed is None:  # lost already
                answer.connection_lost(protocol)
                return
            closed.add_done_callback(partial(self._connection_lost, weakref.ref(protocol)))
        self._carrying[protocol] = weakref.ref(answer)

    def _connection_lost(self, protocol_ref: weakref.ref[ResponseHandler], closed: asyncio.Future[None]) -> None:
        if not closed.cancelled():
            closed.exception()  # taken: a reset would otherwise be logged as an exception never retrieved
        protocol = protocol_ref()
        answer_ref = self._carrying.get(protocol) if protocol is not None else None
        answer = answer_ref() if answer_ref is not None else None
        if protocol is not None and answer is not None:
            answer.connection_lost(protocol)

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()


def _first_line(message: str) -> str:
    """aiohttp's parser errors go on with the bytes at fault on further lines; the log keeps the reason."""
    return message.split("\n", 1)[0].rstrip(":") or "unparsable"


__all__ = ["AiohttpAnswer", "AiohttpUpstream"]
