"""OpenAI chat completions, legacy completions and embeddings: JSON bodies and SSE streams."""

from __future__ import annotations

from typing import Any

from llmlog.pricing.types import JsonObject, ResponseInfo, SseEvent
from llmlog.pricing.usage.answer_parts import listed_urls, openai_citations, tool_call
from llmlog.pricing.usage.json_values import (
    as_dict,
    as_index,
    as_list,
    as_str,
    content_text,
    error_message,
    join_text,
    loads,
    tool_call_text,
)
from llmlog.pricing.usage.normalise import openai_usage, with_service_tier


def from_json(body: JsonObject) -> ResponseInfo:
    """Read a chat.completion, text_completion or embeddings list (all share `choices`/`usage`)."""
    choices = [as_dict(c) for c in as_list(body.get("choices"))]
    texts: list[str] = []
    finish = None
    calls: list[JsonObject] = []
    citations = listed_urls(body.get("citations"))  # Perplexity lists its sources beside the choices
    for choice in choices:
        finish = finish or as_str(choice.get("finish_reason"))
        if "message" in choice:
            message = as_dict(choice.get("message"))
            texts.append(_message_text(message))
            calls += _tool_calls(message)
            citations += openai_citations(message.get("annotations"))
        else:  # legacy completions
            texts.append(as_str(choice.get("text")) or "")
    return ResponseInfo(
        usage=with_service_tier(openai_usage(body.get("usage")), body.get("service_tier")),
        response_model=as_str(body.get("model")),
        finish_reason=finish,
        output_text=join_text(texts),
        error_message=error_message(body),
        tool_calls=calls,
        citations=citations,
    )


def _tool_calls(message: JsonObject) -> list[JsonObject]:
    calls = []
    for raw in as_list(message.get("tool_calls")):
        raw = as_dict(raw)
        fn = as_dict(raw.get("function"))
        calls.append(tool_call(raw.get("id"), raw.get("type") or "function", fn.get("name"), fn.get("arguments")))
    legacy_fn = as_dict(message.get("function_call"))
    if legacy_fn:  # the deprecated single `function_call`: no id
        calls.append(tool_call(None, "function", legacy_fn.get("name"), legacy_fn.get("arguments")))
    return calls


def _message_text(message: JsonObject) -> str:
    pieces = [content_text(message.get("content"))]
    if as_str(message.get("refusal")):
        pieces.append(message["refusal"])
    for call in as_list(message.get("tool_calls")):
        fn = as_dict(as_dict(call).get("function"))
        pieces.append(tool_call_text(fn.get("name"), fn.get("arguments")))
    legacy_fn = as_dict(message.get("function_call"))
    if legacy_fn:
        pieces.append(tool_call_text(legacy_fn.get("name"), legacy_fn.get("arguments")))
    return "\n".join([p for p in pieces if p])


_HEAD_KEYS = ("id", "created", "model", "system_fingerprint", "service_tier", "citations")


def assemble(events: list[SseEvent]) -> tuple[JsonObject | None, str | None]:
    """Merge `chat.completion.chunk` / streamed `text_completion` events into one response.

    Content deltas are concatenated per choice, tool calls merged by index (arguments
    concatenated), the last non-null finish_reason kept, and the usage of the final
    `choices: []` chunk taken (chunks with `"usage": null` are ignored).
    Returns (assembled body or None if nothing was readable, error message).
    A stream has an event per token, so the loop reads the usual chunk (one choice whose delta
    is only `content`) without helper calls; anything else takes the general path.
    """
    head: dict[str, Any] = {}
    missing = list(_HEAD_KEYS)  # head fields not seen yet: the first non-null value of each is kept
    choices: dict[int, JsonObject] = {}
    usage = None
    error = None
    legacy = False
    for event in events:
        data = event.data
        if data == "[DONE]":
            continue
        chunk = loads(data)
        if type(chunk) is not dict:
            continue  # garbage
        if error is None and ("error" in chunk or chunk.get("type") == "error"):
            error = error_message(chunk)
        found = [key for key in missing if chunk.get(key) is not None]
        if found:
            for key in found:
                head[key] = chunk[key]
            missing = [key for key in missing if key not in head]
        if not legacy and chunk.get("object") == "text_completion":
            legacy = True
        chunk_usage = chunk.get("usage")
        if type(chunk_usage) is dict:
            usage = chunk_usage
        elif isinstance(as_dict(chunk.get("x_groq")).get("usage"), dict):  # Groq's streams carry it there
            usage = chunk["x_groq"]["usage"]
        raw_choices = chunk.get("choices")
        if type(raw_choices) is not list:
            continue
        for raw in raw_choices:
            if type(raw) is not dict:
                raw = {}
            index = raw.get("index")
            if type(index) is not int:
                index = as_index(index)
            choice = choices.get(index)
            if choice is None:
                choice = choices[index] = {"index": index, "parts": [], "tools": {}, "finish": None}
            finish = raw.get("finish_reason")
            if finish:
                choice["finish"] = finish
            delta = raw.get("delta")
            if delta is None and "text" in raw and "delta" not in raw:
                legacy = True
                choice["parts"].append(as_str(raw.get("text")) or "")
            elif type(delta) is dict:
                content = delta.get("content")
                if len(delta) == 1 and type(content) is str:  # the usual chunk: one more piece of text
                    if content:
                        choice["parts"].append(content)
                else:
                    _merge_delta(choice, delta)
    if not head and not choices and usage is None:
        return None, error
    body = {**head, "object": "text_completion" if legacy else "chat.completion"}
    body["choices"] = [_finish_choice(choices[i], legacy) for i in sorted(choices)]
    if usage is not None:
        body["usage"] = usage
    return body, error


def _merge_delta(choice: JsonObject, delta: JsonObject) -> None:
    if as_str(delta.get("role")):
        choice["role"] = delta["role"]
    if as_str(delta.get("content")):
        choice["parts"].append(delta["content"])
    if as_str(delta.get("refusal")):
        choice["refusal"] = choice.get("refusal", "") + delta["refusal"]
    if isinstance(delta.get("annotations"), list):  # url citations of a search model's answer
        choice.setdefault("annotations", []).extend(delta["annotations"])
    for raw in as_list(delta.get("tool_calls")):
        raw = as_dict(raw)
        index = raw.get("index") if isinstance(raw.get("index"), int) else len(choice["tools"])
        call = choice["tools"].setdefault(index, {"id": None, "type": "function", "name": "", "arguments": ""})
        call["id"] = call["id"] or as_str(raw.get("id"))
        fn = as_dict(raw.get("function"))
        # the name arrives once; some compatible servers repeat it, so never concatenate it
        call["name"] = call["name"] or as_str(fn.get("name")) or ""
        call["arguments"] += as_str(fn.get("arguments")) or ""


def _finish_choice(choice: JsonObject, legacy: bool) -> JsonObject:
    text = "".join(choice["parts"])
    if legacy:
        return {"index": choice["index"], "text": text, "finish_reason": choice["finish"]}
    message: dict[str, Any] = {"role": choice.get("role", "assistant"), "content": text or None}
    if "refusal" in choice:
        message["refusal"] = choice["refusal"]
    if "annotations" in choice:
        message["annotations"] = choice["annotations"]
    if choice["tools"]:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": call["type"],
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for _, call in sorted(choice["tools"].items())
        ]
    return {"index": choice["index"], "message": message, "finish_reason": choice["finish"]}
