"""Median µs per call of usage parsing + pricing, as the pipeline does it (off the request path).

Run: python -m bench.bench_accounting [--iterations 2000]
Each payload is parsed with `parse_response` (the stream split into its arrival chunks) and priced
with `price_call` (lookup of the answered model, then `compute_cost`). Not run by CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import orjson

from llmlog.pricing.prices.cost import price_call
from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.usage.read import parse_response


def _sse(data: dict, event: str | None = None) -> bytes:
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + orjson.dumps(data) + b"\n\n"


def openai_json() -> tuple[str, str, bytes, bool, list]:
    body = orjson.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "word " * 200}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
                  "prompt_tokens_details": {"cached_tokens": 200}}})
    return "openai", "/v1/chat/completions", body, False, [(0.0, body)]


def openai_sse(n: int = 64) -> tuple[str, str, bytes, bool, list]:
    def chunk(delta, finish=None):
        return {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1,
                "model": "gpt-4o-mini-2024-07-18", "usage": None,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    parts = [_sse(chunk({"role": "assistant", "content": ""}))]
    parts += [_sse(chunk({"content": f" tok{i}"})) for i in range(n - 3)]
    parts.append(_sse(chunk({}, "stop")))
    parts.append(_sse({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1,
                       "model": "gpt-4o-mini-2024-07-18", "choices": [],
                       "usage": {"prompt_tokens": 1000, "completion_tokens": n - 3, "total_tokens": 1000 + n - 3}}))
    parts.append(b"data: [DONE]\n\n")
    chunks = [(float(i), p) for i, p in enumerate(parts)]
    return "openai", "/v1/chat/completions", b"".join(parts), True, chunks


def anthropic_sse(n: int = 64) -> tuple[str, str, bytes, bool, list]:
    parts = [_sse({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [], "stop_reason": None, "usage": {"input_tokens": 1200, "cache_read_input_tokens": 3000,
                                                     "cache_creation_input_tokens": 500, "output_tokens": 1}}},
        "message_start"),
        _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
             "content_block_start")]
    parts += [_sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f" t{i}"}},
                   "content_block_delta") for i in range(n - 5)]
    parts += [_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
              _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 321}},
                   "message_delta"),
              _sse({"type": "message_stop"}, "message_stop")]
    chunks = [(float(i), p) for i, p in enumerate(parts)]
    return "anthropic", "/v1/messages", b"".join(parts), True, chunks


def measure(fn, iterations: int) -> float:
    for _ in range(min(200, iterations)):  # warm-up
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def report(name: str, payload: tuple, table: PriceTable, iterations: int) -> None:
    """One payload's row: median µs to parse it, to price its usage, and both."""
    fmt, path, body, stream, chunks = payload
    info = parse_response(fmt, path, body, stream=stream, chunks=chunks)
    assert info.usage is not None and info.usage.source == "provider", name
    provider = "anthropic" if fmt == "anthropic" else "openai"
    cost = price_call(table, info.usage, provider, info.response_model, None)
    assert cost.priced, name

    def parse():
        return parse_response(fmt, path, body, stream=stream, chunks=chunks)

    def price():
        return price_call(table, info.usage, provider, info.response_model, None)

    def both():
        parsed = parse_response(fmt, path, body, stream=stream, chunks=chunks)
        return price_call(table, parsed.usage, provider, parsed.response_model, None)

    print(f"{name:<28}{len(body):>7}{measure(parse, iterations):>10.1f}{measure(price, iterations):>10.1f}"
          f"{measure(both, iterations):>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    iterations = parser.parse_args().iterations
    table = PriceTable.shipped()
    payloads = {"OpenAI chat JSON": openai_json(), "OpenAI chat SSE, 64 chunks": openai_sse(),
                "Anthropic SSE, 64 events": anthropic_sse()}
    print(f"median µs per call, {iterations} iterations each (python {sys.version.split()[0]})")
    print(f"{'payload':<28}{'bytes':>7}{'parse':>10}{'price':>10}{'both':>10}")
    for name, payload in payloads.items():
        report(name, payload, table, iterations)


if __name__ == "__main__":
    main()
