"""Calls waiting for their first byte: the request path counts them, the pipeline gives way to them."""

from __future__ import annotations

import asyncio


class OpeningCalls:
    """Between a proxied call's start and its first byte to the client, logging work would delay
    it (building a long stream's entry takes a few hundred µs), so the pipeline waits a little."""

    def __init__(self) -> None:
        self.count = 0
        self.none = asyncio.Event()
        self.none.set()

    def enter(self) -> None:
        self.count += 1
        self.none.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self.none.set()
