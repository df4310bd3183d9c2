"""Fake Anthropic Messages and OpenAI Responses upstreams on 127.0.0.1, in their real wire formats.

Shapes follow the providers' API references (Anthropic "Streaming Messages", OpenAI "Responses
streaming events"). Usage figures are fixed class constants so tests can hand-compute costs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from aiohttp import web

# Anthropic's usage: input_tokens excludes cache reads and writes
ANTHROPIC_USAGE = {"input_tokens": 1200, "cache_read_input_tokens": 3000, "cache_creation_input_tokens": 500,
                   "output_tokens": 321}
ANTHROPIC_TEXT = ["Hello", " from", " a", " fake", " Claude", " reply."]
RESPONSES_USAGE = {"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 1024},
                   "output_tokens": 700, "output_tokens_details": {"reasoning_tokens": 256},
                   "total_tokens": 2700}
RESPONSES_TEXT = ["The", " answer", " is", " 42."]


def _sse(event: str, data: dict) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@dataclass
class FakeProviders:
    # "full": the whole stream; "cutoff": stream ends after the text deltas (no message_delta);
    # "stall": the text deltas, then silence (the proxy's read timeout fires)
    anthropic_mode: str = "full"
    # the last user message's text -> the non-streamed Messages answer's text instead of ANTHROPIC_TEXT
    replies: dict[str, str] = field(default_factory=dict)
    received: list[dict] = field(default_factory=list)  # each Messages request: path, headers, body

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/v1/responses", self.responses)
        return app

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append({"path": request.path_qs, "headers": list(request.headers.items()), "body": body})
        payload = orjson.loads(body)
        model = payload["model"]
        message = {"id": "msg_fake1", "type": "message", "role": "assistant", "model": model,
                   "content": [], "stop_reason": None, "stop_sequence": None}
        if not payload.get("stream"):
            last = (payload.get("messages") or [{}])[-1].get("content")
            text = self.replies.get(last, "".join(ANTHROPIC_TEXT)) if isinstance(last, str) else "".join(ANTHROPIC_TEXT)
            return web.json_response({**message, "content": [{"type": "text", "text": text}],
                                      "stop_reason": "end_turn", "usage": ANTHROPIC_USAGE})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}  # Anthropic's placeholder
        await response.write(_sse("message_start", {"type": "message_start",
                                                    "message": {**message, "usage": start_usage}}))
        await response.write(_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                          "content_block": {"type": "text", "text": ""}}))
        await response.write(_sse("ping", {"type": "ping"}))
        for piece in ANTHROPIC_TEXT:
            await response.write(_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                              "delta": {"type": "text_delta", "text": piece}}))
        if self.anthropic_mode == "stall":
            await asyncio.sleep(5)
        if self.anthropic_mode == "full":
            await response.write(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
            await response.write(_sse("message_delta", {
                "type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": ANTHROPIC_USAGE["output_tokens"]}}))
            await response.write(_sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        return response

    async def responses(self, request: web.Request) -> web.StreamResponse:
        payload = await request.json()
        text = "".join(RESPONSES_TEXT)
        item = {"id": "msg_r1", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
        done = {"id": "resp_fake1", "object": "response", "created_at": 1732000000, "status": "completed",
                "model": payload["model"] + "-2025-04-14", "output": [item], "usage": RESPONSES_USAGE}
        if not payload.get("stream"):
            return web.json_response(done)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        started = {**done, "status": "in_progress", "output": [], "usage": None}
        seq = iter(range(100))
        await response.write(_sse("response.created", {"type": "response.created", "sequence_number": next(seq),
                                                       "response": started}))
        await response.write(_sse("response.output_item.added", {
            "type": "response.output_item.added", "sequence_number": next(seq), "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []}}))
        for piece in RESPONSES_TEXT:
            await response.write(_sse("response.output_text.delta", {
                "type": "response.output_text.delta", "sequence_number": next(seq), "item_id": "msg_r1",
                "output_index": 0, "content_index": 0, "delta": piece}))
        await response.write(_sse("response.output_text.done", {
            "type": "response.output_text.done", "sequence_number": next(seq), "item_id": "msg_r1",
            "output_index": 0, "content_index": 0, "text": text}))
        await response.write(_sse("response.completed", {"type": "response.completed",
                                                         "sequence_number": next(seq), "response": done}))
        await response.write_eof()
        return response
