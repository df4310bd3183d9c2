"""What the request path records about one call: raw facts only, interpreted later by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmlog.proxy.access.client_address import Network
from llmlog.proxy.forward.control import CallContext
from llmlog.proxy.settings import Provider

SUCCESS, ERROR, TIMEOUT, CLIENT_CLOSED = "success", "error", "timeout", "client_closed"


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
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
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
        self.chunks.append((offset_ms, chunk))
        self.kept_bytes += len(chunk)
