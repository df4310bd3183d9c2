"""Parse a finished call's response (JSON or SSE) into usage, text and outcome — the pipeline's entry point.

Pure: no I/O, no clock. Every parser here returns what it could read and never raises,
because a malformed or truncated upstream response must still be logged.
"""

from __future__ import annotations

from llmlog.pricing.types import ResponseInfo, SseEvent
from llmlog.pricing.usage import anthropic, chat, responses
from llmlog.pricing.usage.json_values import loads
from llmlog.pricing.usage.request import parse_request
from llmlog.pricing.usage.sse import split_sse

__all__ = ["parse_request", "parse_response", "split_sse"]


def parse_response(
    fmt: str,
    path: str,
    body: bytes,
    *,
    stream: bool,
    chunks: list[tuple[float, bytes]] | None = None,
) -> ResponseInfo:
    """Read usage (normalised, DESIGN §4), model, finish reason, text and error of a response.

    `fmt` is the provider wire format, "openai" or "anthropic"; `path` the request path
    (it tells chat, Responses, legacy completions and embeddings apart). With `stream`, the
    body is an SSE stream: `chunks` give the arrival offsets (ms); without them the body is
    one chunk at 0. A "stream" that is really a JSON body (an upstream error before any
    event) is read as JSON. `usage` is None when the provider sent none.
    """
    try:
        return _parse(fmt, path or "", body or b"", stream, chunks)
    except Exception:  # last resort: parsers are defensive, but logging must never fail a call
        return ResponseInfo()


def _parse(fmt: str, path: str, body: bytes, stream: bool, chunks: list[tuple[float, bytes]] | None) -> ResponseInfo:
    if isinstance(body, str):
        body = body.encode()
    head = bytes(body[:64]).lstrip()
    if stream and head.startswith(b"{"):
        stream = False  # error answered as JSON to a streamed request
    elif not stream and head.startswith((b"data:", b"event:", b":")):
        stream = True  # a stream the request did not announce
    if not stream:
        return _from_json(fmt, path, loads(body))
    events = split_sse(chunks if chunks is not None else [(0.0, body)])
    kind = _kind(fmt, path, events)
    assembler = {"anthropic": anthropic, "responses": responses}.get(kind, chat)
    assembled, stream_error = assembler.assemble(events)
    info = assembler.from_json(assembled) if assembled is not None else ResponseInfo()
    info.events = events
    info.assembled = assembled
    info.error_message = stream_error or info.error_message
    return info


def _from_json(fmt: str, path: str, data: object) -> ResponseInfo:
    # each reader takes the error message from `data` itself (`error_message`)
    if not isinstance(data, dict):
        return ResponseInfo()
    if fmt == "anthropic" or data.get("type") in ("message", "completion"):
        return anthropic.from_json(data)
    if "/responses" in path or data.get("object") == "response" or "output" in data:
        return responses.from_json(data)
    return chat.from_json(data)


def _kind(fmt: str, path: str, events: list[SseEvent]) -> str:
    """Which stream grammar: Anthropic, Responses API, or chat/legacy `choices` chunks."""
    if fmt == "anthropic":
        return "anthropic"
    if "/responses" in path:
        return "responses"
    for event in events[:3]:
        data = loads(event.data)
        kind = data.get("type") if isinstance(data, dict) else None
        if (event.event or "").startswith("response.") or str(kind).startswith("response."):
            return "responses"
    return "chat"
