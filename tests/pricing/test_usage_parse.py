"""parse_response: exact normalised usage and outcome for every supported wire format."""

import pytest

from llmlog.pricing.types import ResponseInfo, Usage
from llmlog.pricing.usage.read import parse_response
from tests.fakes import payloads as p

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"

# (fmt, path, body, stream, usage, response_model, finish_reason, output_text, error_message)
CASES = [
    pytest.param(
        "openai", CHAT, p.as_json(p.CHAT_JSON_CACHED), False,
        Usage(input_tokens=1117, output_tokens=46, cached_input_tokens=1024),
        "gpt-4o-2024-08-06", "stop", "The image shows a wooden boardwalk.", None,
        id="chat-json-cached",
    ),
    pytest.param(
        "openai", CHAT, p.as_json(p.CHAT_JSON_REASONING_TOOLS), False,
        Usage(input_tokens=82, output_tokens=1217, reasoning_tokens=1152),
        "o3-mini-2025-01-31", "tool_calls", '[tool call] get_current_weather({\n"location": "Boston, MA"\n})', None,
        id="chat-json-reasoning-tool-calls",
    ),
    pytest.param(
        "openai", CHAT, p.CHAT_SSE_WITH_USAGE, True,
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
        "gpt-4o-mini-2024-07-18", "stop", "Hello! How can I help?", None,
        id="chat-sse-include-usage",
    ),
    pytest.param(
        "openai", CHAT, p.CHAT_SSE_NO_USAGE, True,
        None, "gpt-4o-mini-2024-07-18", "length", "Hi there", None,
        id="chat-sse-without-usage-chunk",
    ),
    pytest.param(
        "openai", CHAT, p.CHAT_SSE_TOOLS, True,
        None, "gpt-4o-mini-2024-07-18", "tool_calls",
        '[tool call] get_weather({"location": "Paris"})\n[tool call] get_time({"tz": "CET"})', None,
        id="chat-sse-parallel-tool-calls",
    ),
    pytest.param(
        "openai", "/v1/completions", p.as_json(p.LEGACY_JSON), False,
        Usage(input_tokens=5, output_tokens=7),
        "gpt-3.5-turbo-instruct", "length", "\n\nThis is indeed a test", None,
        id="legacy-json",
    ),
    pytest.param(
        "openai", "/v1/completions", p.LEGACY_SSE, True,
        Usage(input_tokens=4, output_tokens=5),
        "gpt-3.5-turbo-instruct", "stop", "This is a test.", None,
        id="legacy-sse",
    ),
    pytest.param(
        "openai", "/v1/embeddings", p.as_json(p.EMBEDDINGS_JSON), False,
        Usage(input_tokens=8, output_tokens=0),
        "text-embedding-3-small", None, None, None,
        id="embeddings",
    ),
    pytest.param(
        "openai", RESPONSES, p.as_json(p.RESPONSES_JSON), False,
        Usage(input_tokens=2048, output_tokens=320, cached_input_tokens=1536, reasoning_tokens=256),
        "o4-mini-2025-04-16", "completed",
        'In a peaceful grove beneath a silver moon...\n[tool call] get_weather({"location":"Paris"})', None,
        id="responses-json",
    ),
    pytest.param(
        "openai", RESPONSES, p.RESPONSES_SSE, True,
        Usage(input_tokens=2048, output_tokens=320, cached_input_tokens=1536, reasoning_tokens=256),
        "gpt-4.1-2025-04-14", "completed", "Hi there!", None,
        id="responses-sse-completed",
    ),
    pytest.param(
        "openai", RESPONSES, p.RESPONSES_SSE_TRUNCATED, True,
        None, "gpt-4.1-2025-04-14", "in_progress", "Hi there!", None,
        id="responses-sse-cut-short",
    ),
    pytest.param(
        "anthropic", MESSAGES, p.as_json(p.ANTHROPIC_JSON_CACHE), False,
        # 50 uncached + 10000 cache read + 2000 cache write, each counted once
        Usage(input_tokens=12050, output_tokens=300, cached_input_tokens=10000, cache_write_tokens=2000),
        "claude-sonnet-4-5-20250929", "end_turn", "Hello! How can I assist you today?", None,
        id="anthropic-json-cache",
    ),
    pytest.param(
        "anthropic", MESSAGES, p.ANTHROPIC_SSE_CACHE, True,
        Usage(input_tokens=2060, output_tokens=15, cached_input_tokens=2048),
        "claude-sonnet-4-5-20250929", "end_turn", "Hello!", None,
        id="anthropic-sse-cache-read",
    ),
    pytest.param(
        "anthropic", MESSAGES, p.ANTHROPIC_SSE_DELTA_UPDATES, True,
        Usage(input_tokens=2560, output_tokens=89, cached_input_tokens=2048, cache_write_tokens=500),
        "claude-sonnet-4-5-20250929", "max_tokens", "Done.", None,
        id="anthropic-sse-message-delta-updates-cache",
    ),
    pytest.param(
        "anthropic", MESSAGES, p.ANTHROPIC_SSE_THINKING_TOOL, True,
        Usage(input_tokens=400, output_tokens=89),
        "claude-opus-4-1-20250805", "tool_use",
        'Let me check.\n[tool call] get_weather({"location":"San Francisco, CA"})', None,
        id="anthropic-sse-thinking-and-tool-use",
    ),
    pytest.param(
        "anthropic", MESSAGES, p.ANTHROPIC_SSE_OVERLOADED, True,
        Usage(input_tokens=30, output_tokens=1), "claude-sonnet-4-5-20250929", None, "Partial", "Overloaded",
        id="anthropic-sse-error-event",
    ),
    pytest.param(
        "openai", CHAT, p.as_json(p.OPENAI_ERROR), False,
        None, None, None, None, p.OPENAI_ERROR["error"]["message"],
        id="openai-error-json",
    ),
    pytest.param(
        "openai", CHAT, p.as_json(p.OPENAI_ERROR), True,
        None, None, None, None, p.OPENAI_ERROR["error"]["message"],
        id="openai-error-json-to-streamed-request",
    ),
    pytest.param(
        "anthropic", MESSAGES, p.as_json(p.ANTHROPIC_ERROR), False,
        None, None, None, None, "model: claude-nope",
        id="anthropic-error-json",
    ),
    pytest.param(
        "openai", RESPONSES,
        p.sse(("error", {"type": "error", "code": "server_error", "message": "The server had an error", "param": None,
                         "sequence_number": 1})),
        True, None, None, None, None, "The server had an error",
        id="responses-sse-error-event",
    ),
]


@pytest.mark.parametrize(
    ("fmt", "path", "body", "stream", "usage", "model", "finish", "text", "error"), CASES
)
def test_parse_response(fmt, path, body, stream, usage, model, finish, text, error):
    info = parse_response(fmt, path, body, stream=stream)
    assert info.usage == usage
    assert (info.response_model, info.finish_reason, info.output_text, info.error_message) == (
        model, finish, text, error,
    )


def test_anthropic_cache_counted_once_inside_input():
    usage = parse_response("anthropic", MESSAGES, p.as_json(p.ANTHROPIC_JSON_CACHE), stream=False).usage
    assert usage.uncached_input_tokens == 50
    assert usage.input_tokens == usage.uncached_input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
    assert usage.total_tokens == 12350


def test_chat_stream_assembled_like_non_streamed_response():
    info = parse_response("openai", CHAT, p.CHAT_SSE_TOOLS, stream=True)
    assert info.assembled == {
        "id": "chatcmpl-123",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_a", "type": "function",
                         "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}},
                        {"id": "call_b", "type": "function",
                         "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    assert info.events[-1].data == "[DONE]"


def test_chat_stream_usage_in_assembled():
    info = parse_response("openai", CHAT, p.CHAT_SSE_WITH_USAGE, stream=True)
    assert info.assembled["usage"]["prompt_tokens"] == 2006
    assert info.assembled["choices"][0]["message"] == {"role": "assistant", "content": "Hello! How can I help?"}


def test_anthropic_stream_assembled_message():
    info = parse_response("anthropic", MESSAGES, p.ANTHROPIC_SSE_THINKING_TOOL, stream=True)
    content = info.assembled["content"]
    assert content[0] == {
        "type": "thinking",
        "thinking": "The user wants the weather. Call the tool.",
        "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h",
    }
    assert content[2]["input"] == {"location": "San Francisco, CA"}
    assert info.assembled["stop_reason"] == "tool_use"
    assert info.assembled["usage"] == {"input_tokens": 400, "output_tokens": 89}


def test_responses_stream_assembled_is_final_response():
    info = parse_response("openai", RESPONSES, p.RESPONSES_SSE, stream=True)
    assert info.assembled["status"] == "completed"
    assert info.assembled["usage"] == p.RESPONSE_USAGE
    assert [e.event for e in info.events][-1] == "response.completed"


def test_stream_event_offsets_come_from_chunks():
    body = p.ANTHROPIC_SSE_CACHE
    cut = body.index(b"event: message_delta")
    info = parse_response("anthropic", MESSAGES, body, stream=True, chunks=[(12.5, body[:cut]), (80.0, body[cut:])])
    assert info.events[0].offset_ms == 12.5
    assert info.events[-1].offset_ms == 80.0
    assert info.usage.output_tokens == 15


def test_responses_stream_detected_without_path():
    info = parse_response("openai", "/proxy/whatever", p.RESPONSES_SSE, stream=True)
    assert info.usage.reasoning_tokens == 256


@pytest.mark.parametrize(
    ("fmt", "body", "stream"),
    [
        ("openai", b"", False),
        ("openai", b"<html>502 Bad Gateway</html>", False),
        ("openai", b'{"choices": [{"message": {"content": "x"', False),
        ("openai", b'{"choices": "nope", "usage": {"prompt_tokens": "ten"}}', False),
        ("openai", p.CHAT_SSE_WITH_USAGE[:150], True),
        ("openai", b"\x00\xff garbage", True),
        ("anthropic", p.ANTHROPIC_SSE_THINKING_TOOL[:-400], True),
        ("anthropic", b'data: {"type": "content_block_delta", "index": "x", "delta": 5}\n\n', True),
        ("anthropic", b'{"content": [1, null, {"type": "text"}], "usage": []}', False),
    ],
)
def test_malformed_or_truncated_never_raises(fmt, body, stream):
    info = parse_response(fmt, "/v1/chat/completions", body, stream=stream)
    assert isinstance(info, ResponseInfo)


def test_truncated_chat_stream_keeps_text_read_so_far():
    body = p.CHAT_SSE_WITH_USAGE
    cut = body.index(b'"content":"! How')
    info = parse_response("openai", CHAT, body[: cut + 40], stream=True)
    assert info.output_text == "Hello"
    assert info.usage is None
