"""What kind of request a call was (chat, embedding, image, …), read from its path. Pure.

Portkey's logs page shows a request type per call. llmlog stores the path each call was sent to,
which names the endpoint in every provider format it proxies (OpenAI's `/v1/chat/completions`,
Anthropic's `/v1/messages`, Gemini's `models/x:generateContent`), so the type is derived when an
entry is shown rather than stored: rows written before this existed get one too, and a path the
table below learns later is classified for old calls as well.
"""

from __future__ import annotations

# (path suffix, type), longest suffixes first where one ends another (`/chat/completions` before
# `/completions`). A provider prefix (`/anthropic/v1/messages`) and the query string do not matter.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("/chat/completions", "chat"),
    ("/completions", "completion"),
    ("/embeddings", "embedding"),
    ("/images/generations", "image"),
    ("/images/edits", "image"),
    ("/images/variations", "image"),
    ("/audio/speech", "audio"),
    ("/audio/transcriptions", "audio"),
    ("/audio/translations", "audio"),
    ("/responses", "responses"),
    ("/messages/count_tokens", "count_tokens"),
    ("/messages", "messages"),
    ("/moderations", "moderation"),
    ("/rerank", "rerank"),
    ("/complete", "completion"),  # Anthropic's legacy text completions
)
# Gemini and Vertex name the method after a colon: models/gemini-2.0-flash:generateContent
_GEMINI_METHODS = {"generateContent": "chat", "streamGenerateContent": "chat", "embedContent": "embedding",
                   "batchEmbedContents": "embedding", "countTokens": "count_tokens", "predict": "image"}
REQUEST_TYPES = tuple(dict.fromkeys([t for _, t in _SUFFIXES] + list(_GEMINI_METHODS.values()) + ["other"]))


def request_type(path: str | None) -> str | None:
    """The request type of a call sent to `path`; "other" for an endpoint not in the table (model
    lists, files, batches), None when no path is known."""
    if not path:
        return None
    bare = path.split("?", 1)[0].rstrip("/")
    last = bare.rsplit("/", 1)[-1]
    if ":" in last:
        return _GEMINI_METHODS.get(last.rsplit(":", 1)[1], "other")
    for suffix, kind in _SUFFIXES:
        if bare.endswith(suffix):
            return kind
    return "other"
