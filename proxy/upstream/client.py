"""The upstream client: one request at a time per pooled keep-alive connection, the answer's body
handed over piece by piece as it arrives (never buffered whole), bytes as sent.

An asyncio Protocol, with answers parsed by llhttp (`wire.py`), replaces aiohttp's ClientSession on
the request path: with it the request path went from 142 to 100 µs of CPU a call, below the ideal
aiohttp pass-through's 133 (bench/README.md, "The upstream client"). What it keeps from the
session it replaces: no pool limit (streams never queue), a connect timeout and a read timeout
(silence before the head or between pieces), TLS with the system's trust store, idle connections
reused most-recent first and closed after IDLE_TIMEOUT_S, a retry on a fresh connection only for an
idempotent request whose reused connection turned out closed, no decompression, no cookies.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import cast

from llmlog.proxy.upstream.interface import (
    Origin,
    UpstreamConnectTimeout,
    UpstreamDisconnected,
    UpstreamProtocolError,
    UpstreamUnreachable,
    origin_of,
)
from llmlog.proxy.upstream.wire import ProtocolError, ResponseParser, request_head

IDLE_TIMEOUT_S = 15.0  # aiohttp's keep-alive default; providers close idle connections later than this
# Flow control: past HIGH bytes received and not yet taken, stop reading from the socket (TCP then
# slows the upstream) until the client has taken them down to LOW: a slow client costs memory of
# this order per stream, never the whole answer.
HIGH_WATER_BYTES, LOW_WATER_BYTES = 256 * 1024, 64 * 1024
HAPPY_EYEBALLS_DELAY_S = 0.25  # RFC 8305's recommended connection attempt delay, as aiohttp uses
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class UpstreamResponse:
    """An answer in progress (the UpstreamAnswer of interface.py): status, reason and headers as
    sent; `read()` gives the body's next piece (b"" at its end). `release()` returns the connection
    to the pool when the body was read whole, and closes it otherwise; call it exactly once."""

    __slots__ = ("status", "reason", "headers", "_connection")

    def __init__(self, answer: ResponseParser, connection: _Connection):
        self.status, self.reason, self.headers = answer.status, answer.reason, answer.headers
        self._connection = connection

    async def read(self) -> bytes:
        return await self._connection.read()

    def release(self) -> None:
        self._connection.finish()


class _Connection(asyncio.Protocol):
    """One upstream connection; carries one exchange at a time."""

    def __init__(self, client: UpstreamClient, origin: Origin):
        self.client, self.origin = client, origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._answer: ResponseParser | None = None  # the current exchange's, from `start` on
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._complete = False  # the current answer's body has fully arrived
        self._error: BaseException | None = None
        self._in_use = False
        self._surplus = False  # bytes beyond the answer: it was delivered whole, but no reuse
        self._waiter: asyncio.Future[None] | None = None
        self.exchanges = 0  # answers started on this connection (a reused one has > 0 before sending)

    # -- asyncio callbacks ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # create_connection hands a Protocol its stream transport (TCP, or TLS over TCP)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._error is not None:
            return
        answer = self._answer
        if answer is None or self._complete:  # bytes beyond the answer: never reuse this connection
            self._surplus = True
            if not self._in_use:
                self.close()
            return
        try:
            body = answer.feed(data)
        except ProtocolError as exc:
            self._fail(UpstreamProtocolError(f"invalid HTTP from upstream: {exc}"))
            return
        if body:
            self._queue(body)
        if answer.done:
            self._complete = True
            self._surplus = answer.surplus
        self._wake()

    # eof_received is asyncio's default: the transport closes, and connection_lost says what it meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client._forget(self)
        answer = self._answer
        if self._complete or self._error is not None or answer is None:
            return
        if exc is None and answer.head_done and answer.framing()[0] == "until-close":  # a reset is no end
            self._complete = True
            self._wake()
            return
        detail = f" ({exc})" if exc else ""
        self._fail(UpstreamDisconnected(f"upstream disconnected {answer.cut_short()}{detail}"), close=False)

    def _queue(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self._buffered += len(piece)
        if self._buffered > HIGH_WATER_BYTES and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException, close: bool = True) -> None:
        if self._error is None:
            self._error = exc
        self._wake()
        if close:
            self.close()

    # -- the exchange -----------------------------------------------------------------------------
    def start(self, method: str, data: bytes) -> None:
        if self.transport is None or self.closed:
            raise UpstreamDisconnected("upstream disconnected before answering")
        self._answer = ResponseParser(method)
        self._complete = False
        self._in_use = True
        self.exchanges += 1
        self.transport.write(data)

    async def _wait(self, timeout_s: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout_s, _time_out, waiter) if timeout_s else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def read_head(self, timeout_s: float | None) -> ResponseParser:
        answer = self._answer
        if answer is None:
            raise RuntimeError("read_head before start")
        while not answer.head_done:
            if self._error is not None:
                raise self._error
            await self._wait(timeout_s)
        return answer

    async def read(self) -> bytes:
        timeout_s = self.client.read_timeout_s
        while True:
            if self._pieces:
                piece = self._pieces.popleft()
                self._buffered -= len(piece)
                transport = self.transport
                if self._paused and self._buffered <= LOW_WATER_BYTES and transport is not None and not self.closed:
                    self._paused = False
                    transport.resume_reading()
                return piece
            if self._error is not None:
                raise self._error
            if self._complete:
                return b""
            await self._wait(timeout_s)

    def finish(self) -> None:
        """The exchange is over: back to the pool if its answer was read whole and the connection
        may carry another; closed otherwise (a cancelled or failed call leaves it mid-answer)."""
        self._in_use = False
        answer = self._answer
        if answer is not None:
            answer.close()
        reusable = (self._complete and not self._pieces and self._error is None and not self.closed
                    and not self._surplus and answer is not None and answer.keep_alive)
        if reusable:
            self.client._park(self)
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True
        self.client._forget(self)


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class UpstreamClient:
    """Keep-alive connections per origin, no limit on how many are open at once."""

    def __init__(self, *, connect_timeout_s: float | None, read_timeout_s: float | None,
                 idle_timeout_s: float = IDLE_TIMEOUT_S):
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def request(self, method: str, base_url: str, target: str, headers: list[tuple[str, str]],
                      body: bytes) -> UpstreamResponse:
        """Send one request and wait for the answer's head (interim 1xx answers skipped).
        `target` is the path and query as sent, appended to the base URL's own path."""
        origin = origin_of(base_url)
        try:
            data = request_head(method, origin.base_path + target, origin.host_header, headers, len(body))
        except ValueError as exc:  # a configured key with a line break: refused, and the call still logged
            raise UpstreamProtocolError(f"request not sent: {exc}") from None
        if body:
            data += body
        while True:
            connection = await self._connection(origin)
            reused = connection.exchanges > 0
            try:
                connection.start(method, data)
                head = await connection.read_head(self.read_timeout_s)
            except UpstreamDisconnected:
                connection.close()
                if reused and method in IDEMPOTENT:
                    continue  # the server had closed the idle connection; it never saw this request
                raise
            except BaseException:
                connection.close()
                raise
            return UpstreamResponse(head, connection)

    async def _connection(self, origin: Origin) -> _Connection:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            if now - idle[0].idle_since > self.idle_timeout_s:
                idle[0].close()  # the oldest first: reuse is most-recent first, so these age out
                continue
            connection = idle.pop()
            transport = connection.transport
            if not connection.closed and transport is not None and not transport.is_closing():  # a FIN not yet handled
                return connection
        return await self._connect(origin)

    async def _connect(self, origin: Origin) -> _Connection:
        if self._closed:
            raise UpstreamDisconnected("llmlog is shutting down")
        loop = asyncio.get_running_loop()
        tls = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            tls = self._ssl
        # Happy Eyeballs (RFC 8305): a host with a broken IPv6 route still connects over IPv4 at once
        connect = loop.create_connection(lambda: _Connection(self, origin), origin.host, origin.port,
                                         ssl=tls, server_hostname=origin.host if tls else None,
                                         happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S, interleave=1)
        try:
            _, connection = await asyncio.wait_for(connect, self.connect_timeout_s)
        except TimeoutError:
            raise UpstreamConnectTimeout(
                f"no connection to {origin.host}:{origin.port} within {self.connect_timeout_s:g} s") from None
        except OSError as exc:  # the OS's message rarely names the host it could not reach
            raise UpstreamUnreachable(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return connection

    def _park(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.origin, []).append(connection)

    def _forget(self, connection: _Connection) -> None:
        idle = self._idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)

    async def close(self) -> None:
        """Close idle connections; connections still answering close when their call ends."""
        self._closed = True
        for idle in list(self._idle.values()):
            for connection in list(idle):
                connection.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


# Origin and the errors live in interface.py, shared by both clients
__all__ = ["Origin", "UpstreamClient", "UpstreamConnectTimeout", "UpstreamDisconnected", "UpstreamProtocolError",
           "UpstreamResponse", "UpstreamUnreachable"]
