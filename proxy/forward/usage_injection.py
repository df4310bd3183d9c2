"""Exact usage for streams (DESIGN §5, `inject_stream_usage`): ask for the usage chunk, hide it.

The only body parsing on the request path, and only for providers that opt in: a streamed request
without `stream_options.include_usage` gets it added, and the extra usage-only chunk is removed
from what the client receives (the captured copy keeps it for the pipeline).
"""

from __future__ import annotations

import re

import orjson

_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n)|.+\Z", re.S)


def inject_usage_request(body: bytes) -> bytes | None:
    """The body with `stream_options.include_usage: true`, or None when it needs no change."""
    if b'"stream"' not in body:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or payload.get("stream") is not True:
        return None
    options = payload.get("stream_options")
    if options is None:
        options = {}
    if not isinstance(options, dict) or "include_usage" in options:
        return None  # the client decided for itself: leave its request alone
    payload["stream_options"] = {**options, "include_usage": True}
    return orjson.dumps(payload)


def _is_usage_only(event: bytes) -> bool:
    if b'"usage"' not in event or not _EMPTY_CHOICES.search(event):
        return False
    data = b"".join(
        line[5:].lstrip() for line in event.splitlines() if line.startswith(b"data:")
    )
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return isinstance(payload, dict) and payload.get("choices") == [] and isinstance(payload.get("usage"), dict)


class StreamUsageFilter:
    """Passes whole SSE events through as soon as they complete, minus the usage-only chunk."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        cut = max(data.rfind(b"\n\n") + 2 if b"\n\n" in data else 0,
                  data.rfind(b"\r\n\r\n") + 4 if b"\r\n\r\n" in data else 0)
        complete, self._pending = data[:cut], data[cut:]
        if not complete or not _EMPTY_CHOICES.search(complete):
            return complete
        return b"".join(event for event in _split_events(complete) if not _is_usage_only(event))

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return b"" if rest and _is_usage_only(rest) else rest


def _split_events(data: bytes) -> list[bytes]:
    """Split complete events, each keeping its own terminator so the bytes re-join exactly."""
    return _EVENT.findall(data)
