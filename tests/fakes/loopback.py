"""The part every raw-socket fake shares: an asyncio server on 127.0.0.1 at a free port."""

from __future__ import annotations

import asyncio
from typing import Self


class LoopbackServer:
    """Subclasses answer each connection in `_serve`; `url` is where to reach them once started."""

    server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "start() it first"
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> Self:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
