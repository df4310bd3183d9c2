"""Defensive JSON helpers shared by the request and response parsers (they must never raise)."""

from __future__ import annotations

from typing import Any

import orjson

from llmlog.pricing.types import JsonArray, JsonObject


def loads(raw: bytes | str | None) -> Any:
    """Parse JSON, or return None for anything that is not valid JSON."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except Exception:
        return None


def dumps(value: Any) -> str:
    """Compact JSON text (for tool-call arguments given as objects)."""
    try:
        return orjson.dumps(value).decode()
    except Exception:
        return str(value)


def as_dict(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> JsonArray:
    return value if isinstance(value, list) else []


def as_index(value: Any) -> int:
    """An event's `index` (a content block, an output item): an integer, or 0 when absent."""
    return value if isinstance(value, int) else 0


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def content_text(content: Any) -> str:
    """The text of a message `content`: a string, or an array of content parts.

    Covers OpenAI parts (`text`, `input_text`, `output_text`, `refusal`) and Anthropic blocks
    (`text`, `tool_result` with nested content). Images, audio and files carry no text.
    """
    if isinstance(content, str):
        return content
    if content is None:  # a request without `system` or `instructions`: most of them
        return ""
    pieces: list[str] = []
    for part in as_list(content):
        if isinstance(part, str):
            pieces.append(part)
            continue
        part = as_dict(part)
        text = as_str(part.get("text")) or as_str(part.get("refusal"))
        if text:
            pieces.append(text)
        elif part.get("type") == "tool_result":
            nested = content_text(part.get("content"))
            if nested:
                pieces.append(nested)
    return "\n".join(pieces)


def tool_call_text(name: Any, arguments: Any) -> str:
    """A readable one-line rendering of a tool call for full-text search."""
    if not isinstance(arguments, str):
        arguments = "" if arguments is None else dumps(arguments)
    return f"[tool call] {name if isinstance(name, str) else '?'}({arguments})"


def join_text(pieces: list[str]) -> str | None:
    text = "\n".join([p for p in pieces if p])  # a list: join would build one from a generator anyway
    return text or None


def error_message(body: Any) -> str | None:
    """The message of an error body: OpenAI `{"error": {...}}`, Anthropic `{"type": "error", ...}`."""
    body = as_dict(body)
    if "error" not in body and body.get("type") != "error":  # the usual answer: nothing to read
        return None
    err = body.get("error")
    if isinstance(err, str) and err:
        return err
    err = as_dict(err)
    message = as_str(err.get("message")) or as_str(err.get("code")) or as_str(err.get("type"))
    if message:
        return message
    # Responses API stream `error` events put the fields at the top level
    if body.get("type") == "error":
        return as_str(body.get("message")) or as_str(body.get("code")) or "error"
    return None
