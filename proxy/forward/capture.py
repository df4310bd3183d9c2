"""What the request path records about one call: raw facts only, interpreted later by the pipeline."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from llmlog.proxy.access.client_address import Network
from llmlog.proxy.forward.control import CallContext
from llmlog.proxy.settings import Provider

SUCCESS, ERROR, TIMEOUT, CLIENT_CLOSED = "success", "error", "timeout", "client_closed"


class Chunks:
    """The answer's bytes as kept, each piece with its arrival offset (ms): one buffer and two arrays,
    16 bytes a piece, where a list of (float, bytes) tuples costs some 130 (a 10 s stream brings a
    hundred pieces or more, held until its entry is built). Iterating gives (offset, bytes) pairs."""

    __slots__ = ("_data", "_offsets", "_ends")

    def __init__(self, pieces: Iterable[tuple[float, bytes]] = ()):
        self._data: bytes | bytearray = b""
        self._offsets = array("d")
        self._ends = array("q")
        for offset, piece in pieces:
            self.add(offset, piece)

    def add(self, offset_ms: float, piece: bytes) -> None:
        if not self._offsets:
            self._data = piece  # a JSON answer is mostly one piece: kept as it is, not copied
        else:
            if type(self._data) is not bytearray:
                self._data = bytearray(self._data)
            self._data += piece
        self._offsets.append(offset_ms)
        self._ends.append(len(self._data))

    def joined(self) -> bytes:
        """All the pieces as one bytes object (a single piece: that very object)."""
        return self._data if type(self._data) is bytes else bytes(self._data)

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        data, start = self._data, 0
        for offset, end in zip(self._offsets, self._ends, strict=True):
            yield offset, bytes(data[start:end])
            start = end


@dataclass(slots=True)
class CapturedCall:
    """Filled by the handler as the call proceeds; handed to the pipeline once, after the last byte.

    Headers are kept raw here (in memory only); redaction happens before anything is stored.
    Times: `started_at_ms` is UTC epoch ms; offsets are ms since the handler started.
    """

    id: str
    provider: Provider
    method: str
    path: str
    query: str
    started_at_ms: float
    context: CallContext
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: str = SUCCESS
    status_code: int | None = None
    error: str | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: Chunks = field(default_factory=Chunks)
    response_truncated: bool = False
    kept_bytes: int = 0
    ttfb_ms: float | None = None
    duration_ms: float | None = None
    # the upstream's own part: from the request handed to the upstream client (connecting, when no
    # pooled connection is free, included) to the answer's last byte read; None unless it completed
    upstream_duration_ms: float | None = None
    injected_usage: bool = False
    peer: str | None = None  # the connection's remote address (the pipeline reads X-Forwarded-For)
    trusted_proxies: tuple[Network, ...] = ()  # server.trusted_proxies: whose X-Forwarded-For is believed

    def keep(self, offset_ms: float, chunk: bytes, cap: int) -> None:
        """Keep a copy of a forwarded chunk for the log, up to `cap` bytes in all."""
        room = cap - self.kept_bytes
        if room <= 0:
            self.response_truncated = True
            return
        if len(chunk) > room:
            chunk = chunk[:room]
            self.response_truncated = True
        self.chunks.add(offset_ms, chunk)
        self.kept_bytes += len(chunk)
