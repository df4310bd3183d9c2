"""Anthropic Messages (and legacy Text Completions): JSON bodies and SSE streams."""

from __future__ import annotations

from llmlog.pricing.types import JsonObject, ResponseInfo, SseEvent
from llmlog.pricing.usage.answer_parts import anthropic_citations, tool_call
from llmlog.pricing.usage.json_values import (
    as_dict,
    as_index,
    as_list,
    as_str,
    error_message,
    join_text,
    loads,
    tool_call_text,
)
from llmlog.pricing.usage.normalise import anthropic_usage

_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def from_json(body: JsonObject) -> ResponseInfo:
    """Read a `message` object: text blocks and tool_use blocks, stop_reason, usage.

    Thinking blocks are left out of the text: they are not the reply (their tokens are
    still in output_tokens).
    """
    texts: list[str] = []
    calls: list[JsonObject] = []
    citations: list[JsonObject] = []
    for block in as_list(body.get("content")):
        block = as_dict(block)
        if block.get("type") == "text":
            texts.append(as_str(block.get("text")) or "")
            citations += anthropic_citations(block.get("citations"))
        elif block.get("type") in ("tool_use", "server_tool_use"):
            texts.append(tool_call_text(block.get("name"), block.get("input")))
            calls.append(tool_call(block.get("id"), block.get("type"), block.get("name"), block.get("input")))
    if isinstance(body.get("completion"), str):  # legacy /v1/complete
        texts.append(body["completion"])
    return ResponseInfo(
        usage=anthropic_usage(body.get("usage")),
        response_model=as_str(body.get("model")),
        finish_reason=as_str(body.get("stop_reason")),
        output_text=join_text(texts),
        error_message=error_message(body),
        tool_calls=calls,
        citations=citations,
    )


def assemble(events: list[SseEvent]) -> tuple[JsonObject | None, str | None]:
    """Rebuild the `message` from message_start / content_block_* / message_delta events.

    message_delta's usage is cumulative: its output_tokens replaces the start's, and any
    input or cache count it carries replaces the earlier one.
    Returns (assembled message or None, error message from an `error` event).
    """
    message: JsonObject | None = None
    blocks: dict[int, JsonObject] = {}
    partial_json: dict[int, list[str]] = {}
    completion: list[str] = []
    error = None
    for event in events:
        data = loads(event.data)
        if not isinstance(data, dict):
            continue
        kind = as_str(data.get("type")) or event.event or ""
        index = as_index(data.get("index"))
        if kind == "error":
            error = error or error_message(data) or "error"
        elif kind == "message_start":
            message = dict(as_dict(data.get("message")))
            message["usage"] = dict(as_dict(message.get("usage")))
        elif kind == "content_block_start":
            blocks[index] = dict(as_dict(data.get("content_block")))
        elif kind == "content_block_delta":
            _apply_delta(blocks.setdefault(index, {}), as_dict(data.get("delta")), partial_json.setdefault(index, []))
        elif kind == "message_delta":
            message = message if message is not None else {"type": "message", "usage": {}}
            for key, value in as_dict(data.get("delta")).items():
                message[key] = value
            usage = message.setdefault("usage", {})
            for key, value in as_dict(data.get("usage")).items():
                if key in _USAGE_FIELDS and value is not None:
                    usage[key] = value  # as sent: pricing/usage/normalise.py judges the counts
        elif kind == "completion":  # legacy Text Completions stream
            completion.append(as_str(data.get("completion")) or "")
            message = message if message is not None else {"type": "completion", "model": data.get("model")}
            message["stop_reason"] = data.get("stop_reason") or message.get("stop_reason")
    if message is None and not blocks:
        return None, error
    message = message if message is not None else {"type": "message"}
    for index, pieces in partial_json.items():
        _finish_tool_input(blocks.get(index, {}), pieces)
    if blocks or "content" in message:
        message["content"] = [blocks[i] for i in sorted(blocks)]
    if completion:
        message["completion"] = "".join(completion)
    if not message.get("usage"):
        message.pop("usage", None)
    return message, error


def _apply_delta(block: JsonObject, delta: JsonObject, json_pieces: list[str]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block.setdefault("type", "text")
        block["text"] = (as_str(block.get("text")) or "") + (as_str(delta.get("text")) or "")
    elif kind == "thinking_delta":
        block["thinking"] = (as_str(block.get("thinking")) or "") + (as_str(delta.get("thinking")) or "")
    elif kind == "signature_delta":
        block["signature"] = as_str(delta.get("signature"))
    elif kind == "input_json_delta":
        json_pieces.append(as_str(delta.get("partial_json")) or "")
    elif kind == "citations_delta" and isinstance(delta.get("citation"), dict):
        if not isinstance(block.get("citations"), list):  # content_block_start may say null
            block["citations"] = []
        block["citations"].append(delta["citation"])


def _finish_tool_input(block: JsonObject, pieces: list[str]) -> None:
    """A tool's input arrives as JSON fragments; keep the raw text if it was cut short."""
    raw = "".join(pieces)
    if not raw:
        return
    parsed = loads(raw)
    block["input"] = parsed if parsed is not None else raw
