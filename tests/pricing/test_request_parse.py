"""parse_request on real request shapes of each API, and on garbage."""

import orjson
import pytest

from llmlog.pricing.types import RequestInfo
from llmlog.pricing.usage.request import parse_request

CHAT = {
    "model": "gpt-4o-mini",
    "stream": True,
    "stream_options": {"include_usage": True},
    "user": "user-1234",
    "messages": [
        {"role": "developer", "content": "You are terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "tool says hi"},
    ],
}

ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "metadata": {"user_id": "anthropic-user-42"},
    "system": [{"type": "text", "text": "Long cached system prompt.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": "Hello, Claude"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get", "input": {"q": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "42 degrees"}]},
    ],
}

RESPONSES_ITEMS = {
    "model": "gpt-4.1",
    "instructions": "Talk like a pirate.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Are semicolons optional?"}]},
        {"type": "function_call_output", "call_id": "c1", "output": "{\"ok\": true}"},
    ],
}


@pytest.mark.parametrize(
    ("body", "model", "stream", "user", "prompt_text", "n_messages"),
    [
        pytest.param(
            CHAT, "gpt-4o-mini", True, "user-1234",
            "You are terse.\nWhat is in this image?\ntool says hi", 4, id="openai-chat-parts",
        ),
        pytest.param(
            ANTHROPIC, "claude-sonnet-4-5", False, "anthropic-user-42",
            "Long cached system prompt.\nHello, Claude\n42 degrees", 4, id="anthropic-system-blocks",
        ),
        pytest.param(
            {"model": "gpt-5", "input": "Tell me a joke", "instructions": "Be brief", "stream": True},
            "gpt-5", True, None, "Be brief\nTell me a joke", 2, id="responses-string-input",
        ),
        pytest.param(
            RESPONSES_ITEMS, "gpt-4.1", False, None,
            'Talk like a pirate.\nAre semicolons optional?\n{"ok": true}', 3, id="responses-items",
        ),
        pytest.param(
            {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 7},
            "gpt-3.5-turbo-instruct", False, None, "Say this is a test", 0, id="legacy-prompt-str",
        ),
        pytest.param(
            {"model": "gpt-3.5-turbo-instruct", "prompt": ["one", "two", [1, 2, 3]]},
            "gpt-3.5-turbo-instruct", False, None, "one\ntwo", 0, id="legacy-prompt-list",
        ),
        pytest.param(
            {"model": "text-embedding-3-small", "input": "The food was delicious", "encoding_format": "float"},
            "text-embedding-3-small", False, None, "The food was delicious", 0, id="embeddings-str",
        ),
        pytest.param(
            {"model": "text-embedding-3-small", "input": ["a", "b"]},
            "text-embedding-3-small", False, None, "a\nb", 0, id="embeddings-list",
        ),
        pytest.param(
            {"model": "text-embedding-3-small", "input": [[1, 2], [3]]},
            "text-embedding-3-small", False, None, None, 0, id="embeddings-token-arrays-ignored",
        ),
        pytest.param(
            {"model": 7, "stream": "yes", "user": 5, "messages": "nope"},
            None, False, None, None, 0, id="wrong-types",
        ),
    ],
)
def test_parse_request(body, model, stream, user, prompt_text, n_messages):
    info = parse_request(orjson.dumps(body))
    assert (info.model, info.stream, info.user, info.prompt_text) == (model, stream, user, prompt_text)
    assert len(info.messages) == n_messages


def test_anthropic_system_becomes_first_message_for_estimation():
    info = parse_request(orjson.dumps(ANTHROPIC))
    assert info.messages[0] == {"role": "system", "content": "Long cached system prompt."}


@pytest.mark.parametrize("body", [None, b"", b"not json", b"[1, 2]", b'"str"', b"{\"model\": ", b"\xff\xfe"])
def test_malformed_body_gives_empty_info(body):
    assert parse_request(body) == RequestInfo()
