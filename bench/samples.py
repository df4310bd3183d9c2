"""Representative captured calls (JSON and SSE, with and without usage), built from the bench upstream's bytes."""

from __future__ import annotations

import time

import orjson

from llmlog.proxy.forward.capture import CapturedCall, Chunks
from llmlog.proxy.forward.control import CallContext
from llmlog.proxy.settings import Provider

from . import upstream
from .loadgen import JSON_BODY, STREAM_BODY

PROVIDER = Provider(name="openai", base_url="http://127.0.0.1:1", prefix="/")
REQUEST_HEADERS = [("Content-Type", "application/json"), ("Authorization", "Bearer sk-bench-not-a-real-key")]
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
SSE_HEADERS = [("Content-Type", "text/event-stream; charset=utf-8")]


def _without_usage(event: bytes) -> bytes:
    head, _, _ = event.partition(b"data: [DONE]")
    data = orjson.loads(head[len(b"data: "):])
    data.pop("usage", None)
    return b"data: " + orjson.dumps(data) + b"\n\n" + (b"data: [DONE]\n\n" if b"[DONE]" in event else b"")


def _sse_chunks(n: int, usage: bool) -> list[tuple[float, bytes]]:
    first, middle, last = upstream.FIRST, upstream.MIDDLE, upstream.LAST
    if not usage:
        first, middle, last = _without_usage(first), _without_usage(middle), _without_usage(last)
    events = [first, *([middle] * (n - 2)), last]
    return [(20.0 * i + 1.0, event) for i, event in enumerate(events)]


def captured(kind: str, *, dnt: bool = False, call_id: str = "01JBENCH0000000000000000000") -> CapturedCall:
    """One finished call as the handler hands it over: `json`, `json_no_usage`, `sse`, `sse_no_usage`."""
    stream = kind.startswith("sse")
    if stream:
        chunks = _sse_chunks(64, usage=kind == "sse")
    else:
        body = upstream.JSON_BODY
        if kind == "json_no_usage":
            data = orjson.loads(body)
            data.pop("usage")
            body = orjson.dumps(data)
        chunks = [(1.0, body)]
    call = CapturedCall(
        id=call_id, provider=PROVIDER, method="POST", path="/v1/chat/completions", query="",
        started_at_ms=time.time() * 1000, context=CallContext(do_not_track=dnt),
        request_headers=list(REQUEST_HEADERS), request_body=STREAM_BODY if stream else JSON_BODY,
        status_code=200, response_headers=list(SSE_HEADERS if stream else JSON_HEADERS),
        chunks=Chunks(chunks), kept_bytes=sum(len(c) for _, c in chunks),
        ttfb_ms=chunks[0][0], duration_ms=chunks[-1][0] + 0.5)
    return call


KINDS = ("json", "json_no_usage", "sse", "sse_no_usage")
