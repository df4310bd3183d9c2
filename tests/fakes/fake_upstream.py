"""A fake OpenAI-compatible upstream on 127.0.0.1 speaking the real wire format (JSON and SSE).

Behaviour is steered by the request itself (model names) and by attributes tests set on
`FakeUpstream`, so one instance serves every case. It records what it received.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import struct
import time
import zlib
from dataclasses import dataclass, field

import orjson
from aiohttp import web

CREATED = 1_732_000_000


def png(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A whole, decodable PNG of one colour (what an image model answers with, base64-encoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


GENERATED_PNG = png(8, 6)


@dataclass
class FakeUpstream:
    chunk_delay_s: float = 0.0
    header_delay_s: float = 0.0
    gzip_answers: bool = False  # JSON chat answers gzipped (Content-Encoding: gzip), as OpenAI's may be
    replies: dict[str, str] = field(default_factory=dict)  # last message -> the JSON answer's text instead of the echo
    received: list[dict] = field(default_factory=list)
    chunk_sent_at: list[float] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_post("/v1/images/generations", self.images)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        return app

    async def _record(self, request: web.Request) -> bytes:
        body = await request.read()
        self.received.append({"method": request.method, "path": request.path_qs,
                              "headers": list(request.headers.items()), "body": body})
        return body

    async def echo(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        return web.json_response({"path": request.path_qs, "method": request.method, "body_len": len(body)})

    async def embeddings(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await self._record(request))
        inputs = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.1 * (i + 1), -0.2, 0.3]}
                for i, _ in enumerate(inputs)]
        tokens = sum(len(str(text).split()) for text in inputs)
        return web.json_response({"object": "list", "data": data, "model": payload["model"],
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def images(self, request: web.Request) -> web.Response:
        """OpenAI's image generation answer: `b64_json` (gpt-image-1's only form, dall-e's on
        request) or a `url`; `revised_prompt` repeats the prompt."""
        payload = orjson.loads(await self._record(request))
        n = int(payload.get("n") or 1)
        if payload.get("response_format") == "url":
            data = [{"url": f"https://images.example.test/generated-{i}.png", "revised_prompt": payload["prompt"]}
                    for i in range(n)]
        else:
            data = [{"b64_json": base64.b64encode(GENERATED_PNG).decode(), "revised_prompt": payload["prompt"]}
                    for _ in range(n)]
        words = len(str(payload.get("prompt", "")).split())
        return web.json_response({"created": CREATED, "data": data,
                                  "usage": {"input_tokens": words, "output_tokens": 272 * n,
                                            "total_tokens": words + 272 * n,
                                            "input_tokens_details": {"text_tokens": words, "image_tokens": 0}}})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        payload = orjson.loads(await self._record(request))
        if self.header_delay_s:
            await asyncio.sleep(self.header_delay_s)
        model = payload.get("model", "")
        if model == "bad-model":
            return web.json_response(
                {"error": {"message": "The model `bad-model` does not exist or you do not have access to it.",
                           "type": "invalid_request_error", "param": None, "code": "model_not_found"}},
                status=404 if payload.get("want_404") else 400)
        prompt = payload["messages"][-1]["content"]
        words = ["Echo:", *str(prompt).split()]
        # a reasoning model asked for effort thinks 64 tokens, counted in completion_tokens as OpenAI does
        reasoning = 64 if payload.get("reasoning_effort") else 0
        prompt_tokens, completion_tokens = 9 + len(str(prompt).split()), len(words) + reasoning
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens,
                 "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                               "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
        answer_model = model + "-2024-07-18" if model == "gpt-4o-mini" else model
        # a request offering tools is answered with one call of each, arguments naming the prompt
        tools = [(f"call_fake{i}", str(t["function"]["name"]), orjson.dumps({"about": prompt}).decode())
                 for i, t in enumerate(payload.get("tools") or [])]
        finish = "tool_calls" if tools else "stop"
        if not payload.get("stream"):
            message = {"role": "assistant", "content": self.replies.get(str(prompt), " ".join(words)), "refusal": None}
            if tools:
                message["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                                         for i, n, a in tools]
            answer = {
                "id": "chatcmpl-fake1", "object": "chat.completion", "created": CREATED, "model": answer_model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage, "system_fingerprint": "fp_fake"}
            if self.gzip_answers:
                return web.Response(body=gzip.compress(orjson.dumps(answer), mtime=0),
                                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
            return web.json_response(answer)
        include_usage = (payload.get("stream_options") or {}).get("include_usage")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)

        def chunk(delta: dict, finish: str | None) -> dict:
            out = {"id": "chatcmpl-fake2", "object": "chat.completion.chunk", "created": CREATED,
                   "model": answer_model, "system_fingerprint": "fp_fake",
                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                out["usage"] = None
            return out

        events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
        events += [chunk({"content": (" " if i else "") + word}, None) for i, word in enumerate(words)]
        for index, (call_id, name, arguments) in enumerate(tools):  # the arguments in two pieces
            events.append(chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                 "function": {"name": name, "arguments": arguments[:5]}}]}, None))
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[5:]}}]}, None))
        events.append(chunk({}, finish))
        if include_usage:
            events.append({"id": "chatcmpl-fake2", "object": "chat.completion.chunk", "created": CREATED,
                           "model": answer_model, "system_fingerprint": "fp_fake", "choices": [],
                           "usage": usage})
        self.chunk_sent_at = []
        for event in events:
            await response.write(b"data: " + orjson.dumps(event) + b"\n\n")
            self.chunk_sent_at.append(time.monotonic())
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
        await response.write(b"data: [DONE]\n\n")
        self.chunk_sent_at.append(time.monotonic())
        await response.write_eof()
        return response
