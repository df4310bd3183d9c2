"""A misbehaving upstream on 127.0.0.1: a raw asyncio TCP server that plays one scripted fault.

`tests/fakes/fake_upstream.py` speaks HTTP correctly through aiohttp; the fault matrix (issue 6) needs
what aiohttp will not send: stalls mid-stream, resets, lying Content-Length, garbage SSE. Each
script gets the parsed request and the socket's writer and writes raw HTTP/1.1 bytes itself.
The server records what it received and when it noticed the proxy closing the connection.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.fakes.loopback import LoopbackServer

SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")


def chunked(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (RFC 9112 §7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse_delta(text: str, model: str = "gpt-4o-mini-2024-07-18") -> bytes:
    """An OpenAI chat.completion.chunk carrying `text`, as one SSE event."""
    return (b'data: {"id":"chatcmpl-f","object":"chat.completion.chunk","created":1732000000,"model":"'
            + model.encode() + b'","choices":[{"index":0,"delta":{"content":"' + text.encode()
            + b'"},"finish_reason":null}]}\n\n')


def response_head(status: int, reason: str, content_type: str, length: int) -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: SO_LINGER on, timeout 0."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class Received:
    head: bytes
    body: bytes


Script = Callable[["FaultyUpstream", Received, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class FaultyUpstream(LoopbackServer):
    script: Script
    received: list[Received] = field(default_factory=list)
    closed_by_peer_at: float | None = None  # monotonic time the proxy closed its side

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            request = Received(head, body)
            self.received.append(request)
            watcher = asyncio.create_task(self._watch_close(reader))
            try:
                await self.script(self, request, writer)
            finally:
                watcher.cancel()
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closed_by_peer_at = self.closed_by_peer_at or time.monotonic()
        finally:
            writer.transport.abort()

    async def _watch_close(self, reader: asyncio.StreamReader) -> None:
        """The proxy sends nothing more after the request, so EOF or an error means it hung up."""
        try:
            await reader.read()
        except ConnectionError:
            pass
        self.closed_by_peer_at = self.closed_by_peer_at or time.monotonic()


# -- scripts: one per fault --------------------------------------------------------------------

def stall_before_headers(seconds: float) -> Script:
    async def script(upstream, request, writer):
        await asyncio.sleep(seconds)
    return script


def stream_then(parts: list[str], ending: str, stall_s: float = 0.0) -> Script:
    """Send SSE deltas for `parts`, then `ending`: "stall" (silence for stall_s) or "reset"."""
    async def script(upstream, request, writer):
        writer.write(SSE_HEAD)
        for part in parts:
            writer.write(chunked(sse_delta(part)))
            await writer.drain()
            await asyncio.sleep(0.02)
        if ending == "reset":
            await asyncio.sleep(0.05)
            reset(writer)
        else:
            await asyncio.sleep(stall_s)
    return script


def endless_stream(interval_s: float, limit_s: float) -> Script:
    """Keep streaming deltas until the proxy hangs up (or `limit_s` passes)."""
    async def script(upstream, request, writer):
        writer.write(SSE_HEAD)
        deadline = time.monotonic() + limit_s
        n = 0
        while time.monotonic() < deadline and upstream.closed_by_peer_at is None:
            writer.write(chunked(sse_delta(f"w{n} ")))
            await writer.drain()
            n += 1
            await asyncio.sleep(interval_s)
    return script


def fixed(status: int, reason: str, content_type: str, body: bytes, *, declared_length: int | None = None) -> Script:
    """A whole response; `declared_length` larger than the body makes a truncated one, then close."""
    async def script(upstream, request, writer):
        writer.write(response_head(status, reason, content_type, declared_length or len(body)) + body)
        await writer.drain()
        await asyncio.sleep(0.05)
    return script


def raw_sse(payload: bytes) -> Script:
    """A 200 event stream whose body is exactly `payload`, closed properly."""
    async def script(upstream, request, writer):
        writer.write(SSE_HEAD + chunked(payload) + b"0\r\n\r\n")
        await writer.drain()
    return script


def hang_up() -> Script:
    """Read the request, then close without a byte of answer."""
    async def script(upstream, request, writer):
        return None
    return script


def raw(*writes: bytes, then_silent_s: float = 0.05) -> Script:
    """Write each of `writes` as one write, a short pause between them, then stay silent with the
    connection open for `then_silent_s` (a proxy that waits for more instead of cutting hangs)."""
    async def script(upstream, request, writer):
        for data in writes:
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(0.02)
        await asyncio.sleep(then_silent_s)
    return script
