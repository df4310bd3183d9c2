"""The load generator: a long-lived process taking one JSON job per stdin line, answering one JSON line.

Jobs (`kind`): `latency` (sequential calls, per-request latency), `throughput` (closed loop at a
concurrency for a duration), `sse` (streams with per-chunk arrival times: TTFB and inter-chunk gaps),
`hold` (open N streams, report when all are open, wait for a `release` line, close them).
Run by bench.run; alone: `python -m bench.loadgen` and type a job.
"""

from __future__ import annotations

import asyncio
import sys
import time
from itertools import pairwise

import aiohttp
import orjson

from llmlog.store.figures import percentile

from .common import maybe_uvloop, raise_fd_limit

JSON_BODY = orjson.dumps({"model": "gpt-4o-mini", "user": "bench",
                          "messages": [{"role": "system", "content": "You are terse."},
                                       {"role": "user", "content": "Say the quick brown fox jumps over."}]})
STREAM_BODY = orjson.dumps({"model": "gpt-4o-mini", "stream": True,
                            "messages": [{"role": "user", "content": "Count slowly."}]})
BASE_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-not-a-real-key"}


def _summary(values_us: list[float]) -> dict:
    ordered = sorted(values_us)

    def rank(q: float) -> float | None:  # nearest rank, as the logs API
        return percentile(ordered, q) if ordered else float("nan")

    return {"n": len(ordered), "p50": rank(50), "p90": rank(90), "p99": rank(99),
            "max": ordered[-1] if ordered else float("nan")}


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=False),
                                 timeout=aiohttp.ClientTimeout(total=120))


class Counter:
    def __init__(self):
        self.sent = self.errors = 0


async def _call(session, url, headers, counter: Counter) -> float | None:
    """One JSON call; its latency in µs, or None on failure."""
    counter.sent += 1
    start = time.perf_counter_ns()
    try:
        async with session.post(url, data=JSON_BODY, headers=headers) as resp:
            await resp.read()
            ok = resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        ok = False
    if not ok:
        counter.errors += 1
        return None
    return (time.perf_counter_ns() - start) / 1000


async def latency(job: dict) -> dict:
    headers = {**BASE_HEADERS, **job.get("headers", {})}
    counter, samples = Counter(), []
    async with _session() as session:
        for _ in range(job["n"]):
            value = await _call(session, job["url"], headers, counter)
            if value is not None:
                samples.append(value)
    return {"latency_us": _summary(samples), "sent": counter.sent, "errors": counter.errors}


async def throughput(job: dict) -> dict:
    headers = {**BASE_HEADERS, **job.get("headers", {})}
    counter, samples = Counter(), []
    async with _session() as session:
        deadline = time.perf_counter() + job["duration_s"]

        async def worker():
            while time.perf_counter() < deadline:
                value = await _call(session, job["url"], headers, counter)
                if value is not None:
                    samples.append(value)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
        elapsed = time.perf_counter() - start
    return {"rps": len(samples) / elapsed, "latency_us": _summary(samples), "sent": counter.sent,
            "errors": counter.errors, "elapsed_s": elapsed}


async def _stream(session, url, headers, counter: Counter, opened: asyncio.Event | None = None,
                  release: asyncio.Event | None = None) -> list[float] | None:
    """One SSE call; arrival offsets (µs since the request was sent) of each body chunk."""
    counter.sent += 1
    start = time.perf_counter_ns()
    arrivals: list[float] = []
    try:
        async with session.post(url, data=STREAM_BODY, headers=headers) as resp:
            async for _ in resp.content.iter_any():
                arrivals.append((time.perf_counter_ns() - start) / 1000)
                if opened is not None and len(arrivals) == 1:
                    opened.set()
                    await release.wait()
                    return arrivals
            ok = resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        ok = False
    if not ok or not arrivals:
        counter.errors += 1
        return None
    return arrivals


async def sse(job: dict) -> dict:
    headers = {**BASE_HEADERS, "x-bench-chunks": str(job["chunks"]), "x-bench-delay-ms": str(job["delay_ms"]),
               **job.get("headers", {})}
    counter, ttfb, gaps, chunks = Counter(), [], [], []
    remaining = job["streams"]
    start = time.perf_counter()
    async with _session() as session:
        async def worker():
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                arrivals = await _stream(session, job["url"], headers, counter)
                if arrivals:
                    ttfb.append(arrivals[0])
                    gaps.extend(b - a for a, b in pairwise(arrivals))
                    chunks.append(len(arrivals))

        await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
    return {"ttfb_us": _summary(ttfb), "gap_us": _summary(gaps), "chunks_per_stream": _summary(chunks),
            "sent": counter.sent, "errors": counter.errors, "elapsed_s": time.perf_counter() - start}


async def hold(job: dict, lines: asyncio.Queue) -> dict:
    """Open `streams` streams and hold them: by default the upstream pauses after its first event;
    with `chunks` and `pause_ms` each stream goes on sending an event every `pause_ms` (a 10 s
    stream: 100 events 100 ms apart)."""
    headers = {**BASE_HEADERS, "x-bench-chunks": str(job.get("chunks", 2)),
               "x-bench-delay-ms": str(job.get("pause_ms", 600_000))}
    counter, release = Counter(), asyncio.Event()
    async with _session() as session:
        tasks, events = [], []
        for i in range(job["streams"]):
            opened = asyncio.Event()
            events.append(opened)
            tasks.append(asyncio.create_task(_stream(session, job["url"], headers, counter, opened, release)))
            if i % 50 == 49:
                await asyncio.sleep(0.02)  # stay under the listen backlog
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), job.get("timeout_s", 60))
        except TimeoutError:
            pass
        held = sum(e.is_set() for e in events)
        _emit({"held": held})
        await lines.get()  # the orchestrator read RSS; let go
        release.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"held": held, "sent": counter.sent, "errors": job["streams"] - held}


def _emit(result: dict) -> None:
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()

    def read_lines():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    loop.run_in_executor(None, read_lines)
    while (line := await lines.get()) is not None:
        if not line.strip():
            continue
        job = orjson.loads(line)
        kind = job["kind"]
        if kind == "hold":
            result = await hold(job, lines)
        else:
            result = await {"latency": latency, "throughput": throughput, "sse": sse}[kind](job)
        _emit(result)


if __name__ == "__main__":
    raise_fd_limit()
    maybe_uvloop()
    asyncio.run(main())
