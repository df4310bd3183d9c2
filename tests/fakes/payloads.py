"""Canned provider payloads, shaped like the examples in OpenAI's and Anthropic's API references."""

import orjson


def sse(*events) -> bytes:
    """An SSE body: each event is a dict (data only), a str (raw data) or (event_name, dict)."""
    out = []
    for event in events:
        name, data = event if isinstance(event, tuple) else (None, event)
        text = data if isinstance(data, str) else orjson.dumps(data).decode()
        out.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(out).encode()


def as_json(value) -> bytes:
    return orjson.dumps(value)


# --- OpenAI chat completions -------------------------------------------------------------

CHAT_JSON_CACHED = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "The image shows a wooden boardwalk.", "refusal": None,
                        "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}

CHAT_JSON_REASONING_TOOLS = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "o3-mini-2025-01-31",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_current_weather", "arguments": '{\n"location": "Boston, MA"\n}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 1217,
        "total_tokens": 1299,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 1152},
    },
}


def _chunk(delta, finish=None, usage_null=True, index=0, model="gpt-4o-mini-2024-07-18"):
    chunk = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": model,
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage_null:  # with stream_options.include_usage every chunk carries "usage": null
        chunk["usage"] = None
    return chunk


CHAT_SSE_WITH_USAGE = sse(
    _chunk({"role": "assistant", "content": "", "refusal": None}),
    _chunk({"content": "Hello"}),
    _chunk({"content": "! How can I help?"}),
    _chunk({}, finish="stop"),
    {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [],
        "usage": {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    },
    "[DONE]",
)

CHAT_SSE_NO_USAGE = sse(
    _chunk({"role": "assistant", "content": ""}, usage_null=False),
    _chunk({"content": "Hi"}, usage_null=False),
    _chunk({"content": " there"}, usage_null=False),
    _chunk({}, finish="length", usage_null=False),
    "[DONE]",
)


def _tool_delta(index, **function):
    return {"tool_calls": [{"index": index, "function": function}]}


CHAT_SSE_TOOLS = sse(
    _chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
    _chunk(_tool_delta(0, arguments='{"loc')),
    _chunk({"tool_calls": [
        {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}}]}),
    _chunk(_tool_delta(1, arguments='{"tz": "CET"}')),
    _chunk(_tool_delta(0, arguments='ation": "Paris"}')),
    _chunk({}, finish="tool_calls"),
    "[DONE]",
)

# --- OpenAI legacy completions and embeddings ------------------------------------------

LEGACY_JSON = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def _legacy_chunk(text, finish=None):
    return {
        "id": "cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}],
        "model": "gpt-3.5-turbo-instruct",
    }


LEGACY_SSE = sse(
    _legacy_chunk("This"),
    _legacy_chunk(" is a test."),
    _legacy_chunk("", finish="stop"),
    {
        "id": "cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [],
        "model": "gpt-3.5-turbo-instruct",
        "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9},
    },
    "[DONE]",
)

EMBEDDINGS_JSON = {
    "object": "list",
    "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222], "index": 0}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}

# --- OpenAI Responses API ----------------------------------------------------------------

RESPONSE_USAGE = {
    "input_tokens": 2048,
    "input_tokens_details": {"cached_tokens": 1536},
    "output_tokens": 320,
    "output_tokens_details": {"reasoning_tokens": 256},
    "total_tokens": 2368,
}

RESPONSES_JSON = {
    "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
    "object": "response",
    "created_at": 1741476777,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "model": "o4-mini-2025-04-16",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "id": "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "In a peaceful grove beneath a silver moon...",
                         "annotations": []}],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"location":"Paris"}',
            "status": "completed",
        },
    ],
    "usage": RESPONSE_USAGE,
}

_RESP_BASE = {
    "id": "resp_123",
    "object": "response",
    "created_at": 1741290958,
    "status": "in_progress",
    "error": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [],
    "usage": None,
}
_MSG = {"id": "msg_123", "type": "message", "status": "in_progress", "role": "assistant", "content": []}


def _delta(delta, seq):
    return ("response.output_text.delta", {
        "type": "response.output_text.delta", "item_id": "msg_123", "output_index": 0,
        "content_index": 0, "delta": delta, "sequence_number": seq,
    })


_RESPONSES_SSE_HEAD = [
    ("response.created", {"type": "response.created", "response": _RESP_BASE, "sequence_number": 0}),
    ("response.in_progress", {"type": "response.in_progress", "response": _RESP_BASE, "sequence_number": 1}),
    ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": _MSG,
                                    "sequence_number": 2}),
    ("response.content_part.added", {
        "type": "response.content_part.added", "item_id": "msg_123", "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []}, "sequence_number": 3}),
    _delta("Hi", 4),
    _delta(" there!", 5),
]
_DONE_MSG = {**_MSG, "status": "completed",
             "content": [{"type": "output_text", "text": "Hi there!", "annotations": []}]}

RESPONSES_SSE = sse(
    *_RESPONSES_SSE_HEAD,
    ("response.output_text.done", {"type": "response.output_text.done", "item_id": "msg_123", "output_index": 0,
                                   "content_index": 0, "text": "Hi there!", "sequence_number": 6}),
    ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": _DONE_MSG,
                                   "sequence_number": 7}),
    ("response.completed", {"type": "response.completed", "sequence_number": 8, "response": {
        **_RESP_BASE, "status": "completed", "output": [_DONE_MSG], "usage": RESPONSE_USAGE}}),
)

RESPONSES_SSE_TRUNCATED = sse(*_RESPONSES_SSE_HEAD)

# --- Anthropic Messages --------------------------------------------------------------------

ANTHROPIC_JSON_CACHE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello! How can I assist you today?"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 50,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 10000,
        "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 300,
        "service_tier": "standard",
    },
}


def _start(usage, model="claude-sonnet-4-5-20250929"):
    return ("message_start", {"type": "message_start", "message": {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [],
        "model": model, "stop_reason": None, "stop_sequence": None, "usage": usage}})


def _block_delta(index, delta):
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def _text(index, text):
    return _block_delta(index, {"type": "text_delta", "text": text})


def _stop_block(index):
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


ANTHROPIC_SSE_CACHE = sse(
    _start({"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048, "output_tokens": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    _text(0, "Hello"),
    _text(0, "!"),
    _stop_block(0),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 15}}),
    ("message_stop", {"type": "message_stop"}),
)

# newer API versions repeat (and may update) the input and cache counts in message_delta
ANTHROPIC_SSE_DELTA_UPDATES = sse(
    _start({"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    _text(0, "Done."),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                       "usage": {"input_tokens": 12, "cache_creation_input_tokens": 500,
                                 "cache_read_input_tokens": 2048, "output_tokens": 89, "server_tool_use": None}}),
    ("message_stop", {"type": "message_stop"}),
)

ANTHROPIC_SSE_THINKING_TOOL = sse(
    _start({"input_tokens": 400, "output_tokens": 2}, model="claude-opus-4-1-20250805"),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    _block_delta(0, {"type": "thinking_delta", "thinking": "The user wants the weather. "}),
    _block_delta(0, {"type": "thinking_delta", "thinking": "Call the tool."}),
    _block_delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}),
    _stop_block(0),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    _text(1, "Let me check."),
    _stop_block(1),
    ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
        "type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}}),
    _block_delta(2, {"type": "input_json_delta", "partial_json": ""}),
    _block_delta(2, {"type": "input_json_delta", "partial_json": '{"location": "San Fra'}),
    _block_delta(2, {"type": "input_json_delta", "partial_json": 'ncisco, CA"}'}),
    _stop_block(2),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"output_tokens": 89}}),
    ("message_stop", {"type": "message_stop"}),
)

ANTHROPIC_SSE_OVERLOADED = sse(
    _start({"input_tokens": 30, "output_tokens": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    _text(0, "Partial"),
    ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
)

# --- error bodies --------------------------------------------------------------------------

OPENAI_ERROR = {
    "error": {
        "message": "Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
ANTHROPIC_ERROR = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-nope"}}
