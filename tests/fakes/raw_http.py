"""Requests that SDKs and aiohttp's client will not make (odd targets, Host values, a hang-up
mid-body), written to a socket by hand."""

from __future__ import annotations

import asyncio


async def raw_request(client, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send `head` (request line and headers, without the blank line) and `body` to the test
    server; return the status and the whole answer. `Connection: close` is added."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head.rstrip(b"\r\n") + b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return int(answer.split(b" ", 2)[1]), answer


async def hang_up_mid_body(client, head: bytes, sent: bytes) -> None:
    """Send the head and part of a body, then close the connection."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head.rstrip(b"\r\n") + b"\r\n\r\n" + sent)
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
