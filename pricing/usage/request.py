"""Read what logging needs from a request body: model, stream flag, user, searchable prompt text."""

from __future__ import annotations

from typing import Any

from llmlog.pricing.types import JsonObject, RequestInfo
from llmlog.pricing.usage.json_values import as_dict, as_list, as_str, content_text, join_text, loads


def parse_request(body: bytes | None) -> RequestInfo:
    """Parse an OpenAI (chat, Responses, legacy completions, embeddings) or Anthropic request.

    `messages` is normalised to a chat-style list (system prompt / instructions first) so the
    token estimator can apply the chat-format overhead; it stays empty for prompt-style
    requests (legacy completions, embeddings), whose text is in `prompt_text`.
    Never raises: a malformed, non-JSON or empty body gives an empty RequestInfo.
    """
    try:
        data = loads(body)
        if not isinstance(data, dict):
            return RequestInfo()
        return _parse(data)
    except Exception:  # a logging proxy must not fail a call over an odd body
        return RequestInfo()


def _parse(data: JsonObject) -> RequestInfo:
    messages: list[JsonObject] = []
    pieces: list[str] = []

    # Anthropic top-level `system` (string or text blocks); Responses API `instructions`
    for key in ("system", "instructions"):
        text = content_text(data.get(key))
        if text:
            pieces.append(text)
            messages.append({"role": "system", "content": text})

    for msg in as_list(data.get("messages")):
        if isinstance(msg, dict):
            messages.append(msg)
            pieces.append(content_text(msg.get("content")))

    model = as_str(data.get("model"))
    pieces.extend(_input_pieces(data.get("input"), messages, embedding="embed" in (model or "")))
    pieces.extend(_prompt_pieces(data.get("prompt")))

    return RequestInfo(
        model=model,
        stream=data.get("stream") is True,
        user=as_str(data.get("user")) or as_str(as_dict(data.get("metadata")).get("user_id")),
        prompt_text=join_text(pieces),
        messages=messages,
        tools=as_list(data.get("tools")) or as_list(data.get("functions")),
        tool_choice=data.get("tool_choice"),
        tags=_litellm_tags(data.get("metadata")),
    )


def _litellm_tags(metadata: Any) -> list[str]:
    """LiteLLM's `metadata.tags`: read as tags, the body still forwarded unchanged."""
    tags = as_list(as_dict(metadata).get("tags"))
    return [text for t in tags if isinstance(t, str) and (text := t.strip())]


def _input_pieces(value: Any, messages: list[JsonObject], *, embedding: bool) -> list[str]:
    """`input` of the Responses API (string or items) or of embeddings (string or strings).

    A Responses string input is one user message (so the estimator adds chat overhead); the
    body alone cannot tell it from an embeddings input, hence the model-name test.
    Token arrays (lists of ints) carry no searchable text and are skipped.
    """
    if isinstance(value, str):
        if not embedding:
            messages.append({"role": "user", "content": value})
        return [value]
    if not isinstance(value, list):
        return []
    pieces = []
    strings = [item for item in value if isinstance(item, str)]
    items = [item for item in value if isinstance(item, dict)]
    if strings and not items:  # embeddings batch: plain text, no chat structure
        return strings
    for item in items:
        messages.append(item)
        # message items have `content`; function_call_output items have `output`
        text = content_text(item.get("content")) or as_str(item.get("output")) or ""
        pieces.append(text)
    return pieces


def _prompt_pieces(value: Any) -> list[str]:
    """Legacy completions `prompt`: a string or a list of strings (token arrays skipped)."""
    if isinstance(value, str):
        return [value]
    return [p for p in as_list(value) if isinstance(p, str)]
