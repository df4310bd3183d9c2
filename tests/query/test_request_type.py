"""The request type shown per call (Portkey's logs page), from the path it was sent to."""

from __future__ import annotations

import pytest

from llmlog.proxy.query.request_type import request_type


@pytest.mark.parametrize("path, expected", [
    ("/v1/chat/completions", "chat"),
    ("/openrouter/api/v1/chat/completions?x=1", "chat"),
    ("/v1/completions", "completion"),
    ("/v1/embeddings", "embedding"),
    ("/v1/images/generations", "image"),
    ("/v1/images/edits", "image"),
    ("/v1/audio/transcriptions", "audio"),
    ("/v1/audio/speech", "audio"),
    ("/v1/responses", "responses"),
    ("/anthropic/v1/messages", "messages"),
    ("/anthropic/v1/messages/count_tokens", "count_tokens"),
    ("/anthropic/v1/complete", "completion"),
    ("/v1/moderations", "moderation"),
    ("/gemini/v1beta/models/gemini-2.0-flash:generateContent", "chat"),
    ("/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "chat"),
    ("/gemini/v1beta/models/text-embedding-004:embedContent", "embedding"),
    ("/gemini/v1beta/models/x:somethingNew", "other"),
    ("/v1/models", "other"),
    ("/v1/responses/resp_123", "other"),
    ("", None),
    (None, None),
])
def test_request_type_from_path(path, expected):
    assert request_type(path) == expected
