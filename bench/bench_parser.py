"""The upstream client's parsing seam, side by side: µs to parse one answer, llhttp (httptools, through
`proxy/upstream/wire.py`'s ResponseParser) against the pure-Python parser it replaced (`http1.py`,
read from git history and driven as the old client drove it). Both are fed what the socket hands
the client, one read at a time, and give back the body bytes of each read.

Run: `python -m bench.bench_parser [--quick] [--before FILE]`. By default "before" is
proxy/upstream/http1.py at the last commit that had it; `--before` takes a copy of that file instead
(e.g. `git show <rev>:proxy/upstream/http1.py > /tmp/http1_old.py`).

Answers: a JSON chat completion behind the bench upstream's head (aiohttp's: 4 headers) and behind
a head shaped like OpenAI's (19 headers), both in one read; and a 64-event SSE stream (chunked),
the head in one read and each event in its own, as events 20 ms apart arrive (and, for the parser
alone, all in one read).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from llmlog.proxy.upstream.wire import ResponseParser

from .upstream import FIRST, JSON_BODY, LAST, MIDDLE

ROOT = Path(__file__).resolve().parents[1]
OLD_PATH = "proxy/upstream/http1.py"

AIOHTTP_HEAD = ("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {n}\r\n"
                "Date: Mon, 30 Nov 2026 12:00:00 GMT\r\nServer: Python/3.11 aiohttp/3.14.5\r\n\r\n")
OPENAI_HEAD = (
    "HTTP/1.1 200 OK\r\nDate: Mon, 30 Nov 2026 12:00:00 GMT\r\nContent-Type: application/json\r\n"
    "Content-Length: {n}\r\nConnection: keep-alive\r\naccess-control-expose-headers: X-Request-ID\r\n"
    "openai-organization: user-abcdefghijklmnopqrstuvwx\r\nopenai-processing-ms: 412\r\n"
    "openai-version: 2020-10-01\r\nx-ratelimit-limit-requests: 10000\r\nx-ratelimit-limit-tokens: 200000\r\n"
    "x-ratelimit-remaining-requests: 9999\r\nx-ratelimit-remaining-tokens: 199975\r\n"
    "x-ratelimit-reset-requests: 8.64s\r\nx-ratelimit-reset-tokens: 7ms\r\n"
    "x-request-id: req_0123456789abcdef0123456789abcdef\r\n"
    "strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"
    "cf-cache-status: DYNAMIC\r\nServer: cloudflare\r\ncf-ray: 8e9f0a1b2c3d4e5f-AMS\r\n\r\n")
SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nDate: Mon, 30 Nov 2026 12:00:00 GMT\r\n"
            b"Server: Python/3.11 aiohttp/3.14.5\r\n\r\n")


class Parser(Protocol):
    done: bool

    def feed(self, data: bytes) -> bytes: ...


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def answers() -> dict[str, tuple[list[bytes], bytes]]:
    """name -> (the reads, the body they carry)."""
    events = [FIRST, *([MIDDLE] * 62), LAST]
    sse_reads = [SSE_HEAD] + [_chunk(e) for e in events[:-1]] + [_chunk(events[-1]) + b"0\r\n\r\n"]
    return {
        "json, aiohttp's head (4 headers)": ([AIOHTTP_HEAD.format(n=len(JSON_BODY)).encode() + JSON_BODY], JSON_BODY),
        "json, OpenAI-like head (19 headers)": ([OPENAI_HEAD.format(n=len(JSON_BODY)).encode() + JSON_BODY], JSON_BODY),
        "sse, 64 events, one read each": (sse_reads, b"".join(events)),
        "sse, 64 events, all in one read": ([b"".join(sse_reads)], b"".join(events)),
    }


def load_before(path: str | None) -> types.ModuleType:
    """The old http1.py as a module: from `path`, or from the last commit that had it."""
    if path is None:
        deleted_in = subprocess.run(["git", "-C", str(ROOT), "rev-list", "-1", "HEAD", "--", OLD_PATH],
                                    check=True, capture_output=True, text=True).stdout.strip()
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{deleted_in}^:{OLD_PATH}"],
                                check=True, capture_output=True, text=True).stdout
    else:
        source = Path(path).read_text()
    module = sys.modules["http1_before"] = types.ModuleType("http1_before")  # dataclasses look it up
    exec(compile(source, path or f"{OLD_PATH} (before)", "exec"), module.__dict__)
    return module


class OldParser:
    """http1.py driven exactly as the old client's `_Connection` drove it (`_read_head`, `_take_body`)."""

    def __init__(self, http1: types.ModuleType, method: str) -> None:
        self.m, self.method = http1, method
        self.buffer, self.remaining = b"", 0
        self.head: Any = None  # the old module's ResponseHead, then its ChunkedDecoder
        self.decoder: Any = None
        self.done = False

    def feed(self, data: bytes) -> bytes:
        m = self.m
        if self.head is None:
            buffer = self.buffer + data if self.buffer else data
            while True:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > m.MAX_HEAD_BYTES:
                        raise m.ProtocolError("head too long")
                    self.buffer = buffer
                    return b""
                head = m.parse_response_head(buffer[:end], self.method)
                buffer = buffer[end + 4:]
                if 100 <= head.status < 200:
                    continue
                self.buffer, self.head = b"", head
                if head.framing == m.NO_BODY:
                    self.done = True
                elif head.framing == m.LENGTH:
                    self.remaining = head.length
                elif head.framing == m.CHUNKED:
                    self.decoder = m.ChunkedDecoder()
                data = buffer
                break
            if not data:
                return b""
        head = self.head
        if head.framing == m.LENGTH:
            data = data[:self.remaining]
            self.remaining -= len(data)
            self.done = not self.remaining
            return data
        if head.framing == m.CHUNKED:
            pieces = self.decoder.feed(data)
            self.done = self.decoder.done
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return data


def per_answer_us(make: Callable[[], Parser], reads: list[bytes], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        parser = make()
        for data in reads:
            parser.feed(data)
    return (time.perf_counter() - start) / repeat * 1e6


def measure(quick: bool = False, before_path: str | None = None) -> dict[str, dict[str, list[float]]]:
    http1 = load_before(before_path)
    sides: dict[str, Callable[[], Parser]] = {
        "before: http1.py": lambda: OldParser(http1, "POST"),
        "after: httptools": lambda: ResponseParser("POST"),
    }
    rounds, repeat = (5, 2000) if quick else (15, 5000)
    out: dict[str, dict[str, list[float]]] = {}
    for name, (reads, body) in answers().items():
        for side, make in sides.items():  # both sides must give back the same body, fully read
            parser = make()
            got = b"".join(parser.feed(data) for data in reads)
            assert got == body and parser.done, (name, side)
        figures: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(rounds):  # interleaved, so drift in the machine's load hits both sides alike
            for side, make in sides.items():
                figures[side].append(per_answer_us(make, reads, repeat // len(reads) or 1))
        out[name] = figures
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_parser", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", help="a copy of the old proxy/upstream/http1.py (default: from git history)")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; µs per answer, median [min–max] over interleaved rounds")
    for name, figures in measure(args.quick, args.before).items():
        print(name)
        medians = {side: statistics.median(values) for side, values in figures.items()}
        for side, values in figures.items():
            print(f"  {side:18} {medians[side]:7.1f} µs  [{min(values):.1f}–{max(values):.1f}]")
        before, after = medians.values()
        print(f"  {'after / before':18} {after / before:7.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
