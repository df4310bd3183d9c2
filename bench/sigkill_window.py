"""How many answered calls a SIGKILL loses, and how far back: the loss window of `llmlog serve`.

Each run starts a fresh `cli.py serve` (default settings: no config file, LLMLOG_* variables removed,
XDG dirs in a temp directory) on a temp database in front of the bench's fake upstream
(`bench/upstream.py`), pinned like the bench (llmlog on the proxy core, upstream and this script on the
load core). Closed-loop load: `--clients` workers (8) each send plain JSON chat calls back to back;
for every call answered 200 with its body read, the worker records the `x-llmlog-id` header and the
monotonic time the answer completed at the client. At a random moment `--kill-from`..`--kill-to`
seconds into the load (1.5..3.0 s) the server gets SIGKILL; the load stops there. The database is then
opened with sqlite3 (WAL recovery as any reader would do it) and every answered id looked up in `calls`.

Per run:
- missing: answered calls with no row;
- window: kill time − completion time of the earliest-completed missing call (0 when none is missing),
  i.e. how far back before the kill an answered call could be lost;
- newest stored: kill time − completion time of the newest answered call that is stored;
- holes: stored calls that completed after the earliest missing one (0 if losses are a clean tail).
Then the median and max of window and missing over the runs. Each run is bounded (≤ 10 s).

Run from the repository root with the project's venv: `python -m bench.sigkill_window [--runs 10]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import aiohttp
import orjson

from .common import LOAD_CORE, PROXY_CORE, free_port, pin, raise_fd_limit
from .procs import ROOT

CHAT = "/v1/chat/completions"
BODY = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]})
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-sigkill"}
START_TIMEOUT_S = 5.0
RUN_TIMEOUT_S = 10.0


def _wait_ready(proc: subprocess.Popen, url: str, deadline: float, log_path: str) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early; see {log_path}")
        try:
            urllib.request.urlopen(url, timeout=0.5).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in time; see {log_path}")


def _start(args: list[str], port: int, probe: str, core: int, log_path: str, env: dict,
           timeout_s: float = START_TIMEOUT_S) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    pin(proc.pid, core)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}{probe}", time.monotonic() + timeout_s, log_path)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def _serve_env(tmp: str) -> dict:
    """The environment with no LLMLOG_* settings and XDG dirs in `tmp`, so only defaults apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMLOG_")}
    return {**env, "XDG_DATA_HOME": tmp, "XDG_CONFIG_HOME": tmp, "PYTHONPATH": ROOT}


async def _load_then_kill(base: str, proc: subprocess.Popen, clients: int, kill_after_s: float
                          ) -> tuple[float, dict[str, float], int]:
    """Closed-loop load; SIGKILL `kill_after_s` into it. Returns kill time, {id: completion time} of
    answered calls, and the number of non-200 answers."""
    answered: dict[str, float] = {}
    non_200 = 0
    stop = asyncio.Event()

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal non_200
        while not stop.is_set():
            try:
                async with session.post(base + CHAT, data=BODY, headers=HEADERS) as resp:
                    await resp.read()
                    done = time.monotonic()
                    if resp.status == 200:
                        answered[resp.headers["x-llmlog-id"]] = done
                    else:
                        non_200 += 1
            except (TimeoutError, aiohttp.ClientError, OSError):
                if stop.is_set():
                    return
                raise

    timeout = aiohttp.ClientTimeout(total=RUN_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients), timeout=timeout) as session:
        tasks = [asyncio.create_task(worker(session)) for _ in range(clients)]
        await asyncio.sleep(kill_after_s)
        for task in tasks:
            if task.done():  # a worker failed before the kill: report it rather than measure a partial load
                task.result()
        stop.set()
        kill_time = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*tasks), RUN_TIMEOUT_S / 2)
    return kill_time, answered, non_200


def _stored(db: str, ids: list[str]) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TEMP TABLE answered (id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO answered VALUES (?)", [(i,) for i in ids])
        return {row[0] for row in conn.execute("SELECT a.id FROM answered a JOIN calls c ON c.id = a.id")}
    finally:
        conn.close()


def one_run(run_no: int, upstream_url: str, clients: int, kill_after_s: float) -> dict:
    tmp = tempfile.mkdtemp(prefix="llmlog-sigkill-")
    db = os.path.join(tmp, "llmlog.db")
    port = free_port()
    proc = _start(["cli.py", "serve", "--db", db, "--port", str(port), "--upstream", upstream_url],
                  port, "/healthz", PROXY_CORE, os.path.join(tmp, "serve.log"), _serve_env(tmp))
    try:
        kill_time, answered, non_200 = asyncio.run(
            _load_then_kill(f"http://127.0.0.1:{port}", proc, clients, kill_after_s))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
    stored = _stored(db, list(answered))
    missing = sorted(answered[i] for i in answered if i not in stored)
    stored_times = [answered[i] for i in stored]
    earliest_missing = missing[0] if missing else None
    result = {
        "run": run_no, "kill_after_s": kill_after_s, "answered": len(answered), "non_200": non_200,
        "stored": len(stored), "missing": len(missing),
        "window_ms": (kill_time - earliest_missing) * 1000 if missing else 0.0,
        "newest_stored_ms": (kill_time - max(stored_times)) * 1000 if stored_times else None,
        "holes": sum(t > earliest_missing for t in stored_times) if missing else 0,
        "answered_after_kill": sum(t > kill_time for t in answered.values()),
    }
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sigkill_window", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-from", type=float, default=1.5, help="earliest kill, seconds into the load")
    parser.add_argument("--kill-to", type=float, default=3.0, help="latest kill, seconds into the load")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    raise_fd_limit()
    pin(os.getpid(), LOAD_CORE)
    tmp = tempfile.mkdtemp(prefix="llmlog-sigkill-up-")
    up_port = free_port()
    upstream = _start(["-m", "bench.upstream", str(up_port)], up_port, "/ping", LOAD_CORE,
                      os.path.join(tmp, "upstream.log"), dict(os.environ), timeout_s=15)
    upstream_url = f"http://127.0.0.1:{up_port}"
    results = []
    try:
        print(f"{'run':>3} {'kill at s':>9} {'answered':>8} {'stored':>7} {'missing':>7} {'window ms':>9} "
              f"{'newest stored ms':>16} {'holes':>5} {'non-200':>7}")
        for run_no in range(1, args.runs + 1):
            r = one_run(run_no, upstream_url, args.clients, rng.uniform(args.kill_from, args.kill_to))
            results.append(r)
            newest = "-" if r["newest_stored_ms"] is None else f"{r['newest_stored_ms']:.1f}"
            print(f"{r['run']:>3} {r['kill_after_s']:>9.2f} {r['answered']:>8} {r['stored']:>7} {r['missing']:>7} "
                  f"{r['window_ms']:>9.1f} {newest:>16} {r['holes']:>5} {r['non_200']:>7}", flush=True)
    finally:
        upstream.send_signal(signal.SIGTERM)
        try:
            upstream.wait(10)
        except subprocess.TimeoutExpired:
            upstream.kill()
            upstream.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    windows = [r["window_ms"] for r in results]
    missing = [r["missing"] for r in results]
    print(f"\n{len(results)} runs, {args.clients} clients, default settings")
    print(f"loss window (ms): median {statistics.median(windows):.1f}, max {max(windows):.1f}, "
          f"min {min(windows):.1f}")
    print(f"missing calls: median {statistics.median(missing):g}, max {max(missing)}, min {min(missing)}, "
          f"total {sum(missing)} of {sum(r['answered'] for r in results)} answered")
    print(f"holes (stored calls completed after the earliest missing one): {sum(r['holes'] for r in results)}; "
          f"answers read after the kill (already sent): {sum(r['answered_after_kill'] for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
