"""OpenAI Responses API (`/v1/responses`): JSON `response` objects and their semantic SSE events."""

from __future__ import annotations

from typing import Any

from llmlog.pricing.types import JsonObject, ResponseInfo, SseEvent
from llmlog.pricing.usage.answer_parts import openai_citations, tool_call
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
from llmlog.pricing.usage.normalise import openai_usage, with_service_tier

# a stream ends with one of these, each carrying the full response (usage included)
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def from_json(body: JsonObject) -> ResponseInfo:
    """Read a `response` object: text of `message` items, tool calls, `status`, usage."""
    texts: list[str] = []
    calls: list[JsonObject] = []
    citations: list[JsonObject] = []
    for item in as_list(body.get("output")):
        item = as_dict(item)
        kind = item.get("type")
        if kind == "message":
            for part in as_list(item.get("content")):
                part = as_dict(part)
                texts.append(as_str(part.get("text")) or as_str(part.get("refusal")) or "")
                citations += openai_citations(part.get("annotations"))
        elif kind in ("function_call", "custom_tool_call"):
            arguments = item.get("arguments", item.get("input"))
            texts.append(tool_call_text(item.get("name"), arguments))
            # `call_id` is what the client answers with (`id` names the output item)
            calls.append(tool_call(item.get("call_id") or item.get("id"), kind, item.get("name"), arguments))
        # reasoning items are summaries of hidden tokens, not the reply: left out of the text
    return ResponseInfo(
        usage=with_service_tier(openai_usage(body.get("usage")), body.get("service_tier")),
        response_model=as_str(body.get("model")),
        finish_reason=as_str(body.get("status")),
        output_text=join_text(texts),
        error_message=error_message(body),
        tool_calls=calls,
        citations=citations,
    )


def assemble(events: list[SseEvent]) -> tuple[JsonObject | None, str | None]:
    """The final `response` of the stream; rebuilt from deltas if the stream was cut short.

    Returns (assembled response or None, error message from an `error` / failed event).
    """
    base: JsonObject | None = None
    final: JsonObject | None = None
    items: dict[int, JsonObject] = {}
    texts: dict[tuple[int, int], list[str]] = {}
    args: dict[int, list[str]] = {}
    error = None
    for event in events:
        data = loads(event.data)
        if not isinstance(data, dict):
            continue
        kind = as_str(data.get("type")) or event.event or ""
        if kind == "error":
            error = error or error_message(data)
        response = data.get("response")
        if isinstance(response, dict):
            base = response
            if kind in _TERMINAL:
                final = response
                error = error or error_message(response)
        index = as_index(data.get("output_index"))
        if kind in ("response.output_item.added", "response.output_item.done") and isinstance(data.get("item"), dict):
            items[index] = data["item"]
        elif kind == "response.output_text.delta":
            part = as_index(data.get("content_index"))
            texts.setdefault((index, part), []).append(as_str(data.get("delta")) or "")
        elif kind == "response.function_call_arguments.delta":
            args.setdefault(index, []).append(as_str(data.get("delta")) or "")
    if final is not None:
        return final, error
    if base is None and not items and not texts:
        return None, error
    return _rebuild(dict(base or {}), items, texts, args), error


def _rebuild(body: JsonObject, items: dict[int, JsonObject], texts: dict[tuple[int, int], list[str]],
             args: dict[int, list[str]]) -> JsonObject:
    """A partial response from the events seen, shaped like the JSON `response` object."""
    indexes = sorted(set(items) | {i for i, _ in texts} | set(args))
    output: list[dict[str, Any]] = []
    for index in indexes:
        item = dict(items.get(index) or {"type": "message", "role": "assistant"})
        if item.get("type") == "message" and not any(as_dict(p).get("text") for p in as_list(item.get("content"))):
            parts = sorted(k for k in texts if k[0] == index)
            item["content"] = [{"type": "output_text", "text": "".join(texts[k])} for k in parts]
        elif item.get("type") == "function_call" and not item.get("arguments") and index in args:
            item["arguments"] = "".join(args[index])
        output.append(item)
    body["output"] = output
    body.setdefault("object", "response")
    return body
