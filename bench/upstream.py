"""A fast fake OpenAI upstream for benchmarks: canned bytes, no parsing beyond one byte search.

`POST /v1/chat/completions` answers JSON, or SSE when the body says `"stream": true`: N events
every D ms, set per request by `x-bench-chunks` / `x-bench-delay-ms` (defaults 64 and 20). The
last event carries usage (like `stream_options.include_usage`), then `data: [DONE]`.
Run: `python -m bench.upstream PORT`.
"""

from __future__ import annotations

import asyncio
import re
import sys

import orjson
from aiohttp import web

from .common import maybe_uvloop, raise_fd_limit

USAGE = {"prompt_tokens": 19, "completion_tokens": 9, "total_tokens": 28,
         "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
         "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                       "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
JSON_BODY = orjson.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_732_000_000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Echo: the quick brown fox jumps over",
                                         "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
    "usage": USAGE, "system_fingerprint": "fp_bench"})


def _event(delta: dict, finish: str | None, usage: dict | None = None) -> bytes:
    return b"data: " + orjson.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_732_000_000,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage}) + b"\n\n"


FIRST = _event({"role": "assistant", "content": ""}, None)
MIDDLE = _event({"content": " word"}, None)
LAST = _event({}, "stop", USAGE) + b"data: [DONE]\n\n"
STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    if not STREAM_RE.search(body):
        return web.Response(body=JSON_BODY, content_type="application/json")
    chunks = int(request.headers.get("x-bench-chunks", 64))
    delay = int(request.headers.get("x-bench-delay-ms", 20)) / 1000
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    for i in range(chunks):
        if i:
            await asyncio.sleep(delay)
        await response.write(FIRST if i == 0 else LAST if i == chunks - 1 else MIDDLE)
    await response.write_eof()
    return response


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/ping", ok)
    return app


if __name__ == "__main__":
    raise_fd_limit()
    maybe_uvloop()
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
                handler_cancellation=True, backlog=4096)
