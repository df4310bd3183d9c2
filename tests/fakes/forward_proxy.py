"""A fake egress (forward) proxy on 127.0.0.1, as HTTPS_PROXY / HTTP_PROXY name one.

It records the request line of every request it gets, then carries the bytes to one fixed origin
whatever host the request names: after `200 Connection established` for a CONNECT (the tunnel an
https:// call asks for), or as they came for an absolute-form request (`POST http://host/path`,
what a plain http:// call sends through a proxy). So a call to a name that resolves nowhere still
reaches a local fake upstream, and only through the proxy.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, field

from tests.fakes.loopback import LoopbackServer

# variables that would send a test's calls through some real proxy of the machine's
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                   "http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass
class ForwardProxy(LoopbackServer):
    origin: tuple[str, int]  # where every request or tunnel goes
    request_lines: list[bytes] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)  # each request's whole head, as the proxy got it
    refusal: bytes | None = None  # an answer to send instead of carrying the call, e.g. a 403

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        line = head.split(b"\r\n", 1)[0]
        self.request_lines.append(line)
        self.heads.append(head)
        if self.refusal is not None:
            writer.write(self.refusal)
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.origin)
        if line.startswith(b"CONNECT "):
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(head)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with suppress(Exception):
            writer.close()
