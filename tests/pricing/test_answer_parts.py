"""Tool calls, URL citations and finish reason read from each provider's answer, JSON and streamed
(pricing/usage/answer_parts.py gives the shape). Payloads follow the providers' API references."""

from __future__ import annotations

import pytest

from llmlog.pricing.usage.read import parse_response
from tests.fakes import payloads as p
from tests.fakes.payloads import as_json, sse

CHAT, RESPONSES, MESSAGES = "/v1/chat/completions", "/v1/responses", "/v1/messages"

RESPONSES_TOOL_ITEM = {"type": "function_call", "id": "fc_9", "call_id": "call_9", "name": "lookup",
                       "arguments": '{"q":"llmlog"}', "status": "completed"}
RESPONSES_SSE_TOOL = sse(
    ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "sequence_number": 0,
                                    "item": {**RESPONSES_TOOL_ITEM, "arguments": "", "status": "in_progress"}}),
    ("response.function_call_arguments.delta", {"type": "response.function_call_arguments.delta",
                                                "output_index": 0, "item_id": "fc_9", "delta": '{"q":',
                                                "sequence_number": 1}),
    ("response.function_call_arguments.delta", {"type": "response.function_call_arguments.delta",
                                                "output_index": 0, "item_id": "fc_9", "delta": '"llmlog"}',
                                                "sequence_number": 2}),
    ("response.completed", {"type": "response.completed", "sequence_number": 3, "response": {
        "id": "resp_9", "object": "response", "status": "completed", "model": "gpt-4.1",
        "output": [RESPONSES_TOOL_ITEM], "usage": p.RESPONSE_USAGE}}),
)
ANTHROPIC_TOOL_JSON = {
    "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "I'll check."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                 "input": {"location": "San Francisco, CA", "unit": "celsius"}}],
    "stop_reason": "tool_use", "usage": {"input_tokens": 472, "output_tokens": 89}}

TOOL_CASES = [
    ("openai", CHAT, as_json(p.CHAT_JSON_REASONING_TOOLS), False, "tool_calls",
     [{"id": "call_abc123", "type": "function", "name": "get_current_weather",
       "arguments": '{\n"location": "Boston, MA"\n}'}]),
    ("openai", CHAT, p.CHAT_SSE_TOOLS, True, "tool_calls",
     [{"id": "call_a", "type": "function", "name": "get_weather", "arguments": '{"location": "Paris"}'},
      {"id": "call_b", "type": "function", "name": "get_time", "arguments": '{"tz": "CET"}'}]),
    ("openai", RESPONSES, as_json(p.RESPONSES_JSON), False, "completed",
     [{"id": "call_1", "type": "function_call", "name": "get_weather", "arguments": '{"location":"Paris"}'}]),
    ("openai", RESPONSES, RESPONSES_SSE_TOOL, True, "completed",
     [{"id": "call_9", "type": "function_call", "name": "lookup", "arguments": '{"q":"llmlog"}'}]),
    ("anthropic", MESSAGES, as_json(ANTHROPIC_TOOL_JSON), False, "tool_use",
     [{"id": "toolu_01A09q90qw90lq917835lq9", "type": "tool_use", "name": "get_weather",
       "arguments": '{"location":"San Francisco, CA","unit":"celsius"}'}]),
    ("anthropic", MESSAGES, p.ANTHROPIC_SSE_THINKING_TOOL, True, "tool_use",
     [{"id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "tool_use", "name": "get_weather",
       "arguments": '{"location":"San Francisco, CA"}'}]),
    ("openai", CHAT, as_json(p.CHAT_JSON_CACHED), False, "stop", []),
    ("anthropic", MESSAGES, p.ANTHROPIC_SSE_CACHE, True, "end_turn", []),
]


@pytest.mark.parametrize(("fmt", "path", "body", "stream", "finish", "calls"), TOOL_CASES)
def test_tool_calls_and_finish_reason(fmt, path, body, stream, finish, calls):
    info = parse_response(fmt, path, body, stream=stream)
    assert info.tool_calls == calls
    assert info.finish_reason == finish


CHAT_SEARCH_JSON = {  # gpt-4o-search-preview's answer (OpenAI "Web search" guide)
    "id": "chatcmpl-s1", "object": "chat.completion", "model": "gpt-4o-search-preview",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "llmlog is a proxy [llmlog](https://example.com/llmlog).",
        "annotations": [{"type": "url_citation", "url_citation": {
            "start_index": 18, "end_index": 54, "title": "llmlog", "url": "https://example.com/llmlog"}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}}
CHAT_SEARCH_SSE = sse(
    {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-search-preview",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "See the docs."}, "finish_reason": None}]},
    {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-search-preview",
     "choices": [{"index": 0, "delta": {"annotations": [{"type": "url_citation", "url_citation": {
         "start_index": 0, "end_index": 13, "title": "Docs", "url": "https://example.com/docs"}}]},
         "finish_reason": "stop"}]},
    "[DONE]")
PERPLEXITY_JSON = {"id": "px", "object": "chat.completion", "model": "sonar",
                   "citations": ["https://a.example/1", "https://b.example/2"],
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": "Two sources [1][2]."}}],
                   "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}
RESPONSES_SEARCH_JSON = {
    "id": "resp_s", "object": "response", "status": "completed", "model": "gpt-4.1",
    "output": [{"type": "web_search_call", "id": "ws_1", "status": "completed"},
               {"type": "message", "id": "msg_s", "role": "assistant", "content": [{
                   "type": "output_text", "text": "A fact.",
                   "annotations": [{"type": "url_citation", "start_index": 0, "end_index": 7,
                                    "url": "https://example.com/fact", "title": "Fact"},
                                   {"type": "file_citation", "index": 0, "file_id": "file-1"}]}]}],
    "usage": p.RESPONSE_USAGE}
_WEB_CITE = {"type": "web_search_result_location", "url": "https://example.com/w", "title": "W",
             "encrypted_index": "Eo8B", "cited_text": "the quoted words"}
ANTHROPIC_SEARCH_JSON = {
    "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Per the page, ", "citations": None},
                {"type": "text", "text": "it is so.", "citations": [_WEB_CITE]}],
    "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5}}
ANTHROPIC_SEARCH_SSE = sse(
    ("message_start", {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant",
                                                            "content": [], "model": "claude-sonnet-4-5",
                                                            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": "", "citations": None}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "citations_delta", "citation": _WEB_CITE}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "it is so."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
)
_ANTHROPIC_CITED = [{"type": "web_search_result_location", "url": "https://example.com/w", "title": "W",
                     "start_index": None, "end_index": None, "cited_text": "the quoted words"}]

CITATION_CASES = [
    ("openai", CHAT, as_json(CHAT_SEARCH_JSON), False,
     [{"type": "url_citation", "url": "https://example.com/llmlog", "title": "llmlog", "start_index": 18,
       "end_index": 54}]),
    ("openai", CHAT, CHAT_SEARCH_SSE, True,
     [{"type": "url_citation", "url": "https://example.com/docs", "title": "Docs", "start_index": 0,
       "end_index": 13}]),
    ("openai", CHAT, as_json(PERPLEXITY_JSON), False,
     [{"type": "url", "url": "https://a.example/1", "title": None, "start_index": None, "end_index": None},
      {"type": "url", "url": "https://b.example/2", "title": None, "start_index": None, "end_index": None}]),
    ("openai", RESPONSES, as_json(RESPONSES_SEARCH_JSON), False,
     [{"type": "url_citation", "url": "https://example.com/fact", "title": "Fact", "start_index": 0,
       "end_index": 7}]),
    ("anthropic", MESSAGES, as_json(ANTHROPIC_SEARCH_JSON), False, _ANTHROPIC_CITED),
    ("anthropic", MESSAGES, ANTHROPIC_SEARCH_SSE, True, _ANTHROPIC_CITED),
    ("openai", CHAT, as_json(p.CHAT_JSON_REASONING_TOOLS), False, []),
]


@pytest.mark.parametrize(("fmt", "path", "body", "stream", "citations"), CITATION_CASES)
def test_url_citations(fmt, path, body, stream, citations):
    info = parse_response(fmt, path, body, stream=stream)
    assert info.citations == citations
    assert info.output_text  # the text is read as before


def test_a_hostile_answer_still_parses():
    body = as_json({"object": "chat.completion", "citations": "not a list", "choices": [{"index": 0, "message": {
        "content": "x", "tool_calls": [7, {"function": "nope"}], "annotations": {"type": "url_citation"}}}]})
    info = parse_response("openai", CHAT, body, stream=False)
    assert info.output_text.startswith("x") and info.citations == []
    assert info.tool_calls == [{"id": None, "type": "function", "name": None, "arguments": None}] * 2
