"""The benchmark: direct vs ideal pass-through vs llmlog, interleaved, one command.

Run: `/work/venv/bin/python -m bench.run [--quick] [--uvloop] [--profile] [--peers]` (see bench/README.md).
Prints a table and writes bench/results/<UTC time>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime

import orjson

from llmlog.store.spill import spill_path_for

from . import bench_pipeline, bench_writer, peers
from .common import (
    LOAD_CORE,
    PROXY_CORE,
    cores,
    cpu_seconds,
    free_port,
    pin,
    raise_fd_limit,
    rss_kib,
    thread_cpu_seconds,
)
from .procs import ROOT, LoadGen, Server
from .profile import profile_during

CHAT = "/v1/chat/completions"
DNT = {"x-debug": "false"}
NO_LOGGING = "llmlog-nolog"  # llmlog with logging switched off (bench/serve_shim.py)
SETTLE_S = 0.6
CONCURRENCY = 32  # the issue's: closed-loop calls and streams in flight at once
STREAM_EVENTS, STREAM_EVENT_MS = 100, 100  # the memory test's streams: 10 s each
SUSTAINED_S = 60  # --sustained: each of ideal and llmlog at saturation for this long


def _settings(quick: bool) -> dict:
    if quick:
        return {"rounds": 3, "lat_n": 300, "thr_s": 1.5, "sse_streams": 32, "hold": 1000}
    return {"rounds": 7, "lat_n": 1500, "thr_s": 4.0, "sse_streams": 64, "hold": 1000}


def _job(loadgen: LoadGen, job: dict) -> dict:
    loadgen.send(orjson.dumps(job).decode())
    return orjson.loads(loadgen.read())


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


class Bench:
    def __init__(self, args):
        self.args, self.s = args, _settings(args.quick)
        self.tmp = tempfile.mkdtemp(prefix="llmlog-bench-")
        self.sent: dict[str, int] = {}  # llmlog server name -> requests sent to it
        self.flags: list[str] = []
        self.headers: dict[str, dict] = {}  # target -> headers its requests need (Portkey's routing)
        self.peers: dict[str, dict] = {}  # peer -> version, or why it was left out

    # -- processes ------------------------------------------------------------------------------
    def start(self) -> None:
        pin(os.getpid(), LOAD_CORE)
        up_port = free_port()
        self.upstream = Server("upstream", ["-m", "bench.upstream", str(up_port)], up_port, LOAD_CORE, "/ping",
                               log_dir=self.tmp)
        self.servers = {"ideal": self._ideal()}
        self.servers["llmlog"] = self._llmlog("llmlog", {})
        self.servers[NO_LOGGING] = self._llmlog(NO_LOGGING, {"LLMLOG_BENCH_NO_LOGGING": "1"}, logs=False)
        if self.args.uvloop:
            self.servers["llmlog-uvloop"] = self._llmlog("llmlog-uvloop", {"LLMLOG_UVLOOP": "1"})
        if self.args.peers:
            self._start_peers()
        self.loadgen = LoadGen(LOAD_CORE)
        self.urls = {"direct": self.upstream.url, **{n: s.url for n, s in self.servers.items()},
                     "llmlog-dnt": self.servers["llmlog"].url}

    def _start_peers(self) -> None:
        for name, start in peers.PEERS.items():
            print(f"peer {name}: installing (once, under {peers.CACHE}) and starting…", file=sys.stderr)
            try:
                server, version, headers = start(self.tmp, self.upstream.url, free_port(), PROXY_CORE)
            except (peers.PeerUnavailable, RuntimeError, OSError) as e:
                why = f"{e}{peers.last_log_line(os.path.join(self.tmp, f'{name}.log'))}"
                print(f"peer {name} left out: {why}", file=sys.stderr)
                self.peers[name] = {"left_out": why}
                continue
            self.servers[name], self.headers[name] = server, headers
            self.peers[name] = {"version": version, "installed_in": peers.CACHE, "headers": headers}

    def _ideal(self) -> Server:
        port = free_port()
        return Server("ideal", ["-m", "bench.ideal", str(port), self.upstream.url], port, PROXY_CORE, "/ping",
                      log_dir=self.tmp)

    def _llmlog(self, name: str, env: dict, *, logs: bool = True) -> Server:
        port = free_port()
        db = os.path.join(self.tmp, f"{name}.db")
        env = {**env, "XDG_DATA_HOME": self.tmp, "XDG_CONFIG_HOME": self.tmp}
        server = Server(name, ["-m", "bench.serve_shim", "serve", "--db", db, "--upstream", self.upstream.url,
                               "--port", str(port)], port, PROXY_CORE, "/healthz", env=env, log_dir=self.tmp)
        server.db = db
        if logs:
            self.sent[name] = 0
        return server

    def _count(self, target: str, result: dict) -> None:
        server = "llmlog" if target == "llmlog-dnt" else target
        if server in self.sent:
            self.sent[server] += result["sent"]

    # -- one round ------------------------------------------------------------------------------
    def _targets(self, names: list[str], round_no: int) -> list[str]:
        k = round_no % len(names)
        return names[k:] + names[:k]  # rotate so no target always runs first

    def round(self, round_no: int) -> dict:
        s, out = self.s, {"latency": {}, "throughput": {}, "sse": {}}
        proxies = [n for n in self.servers]
        for target in self._targets(["direct", *proxies, "llmlog-dnt"], round_no):
            self._settle()
            result = _job(self.loadgen, {"kind": "latency", "url": self.urls[target] + CHAT, "n": s["lat_n"],
                                         "headers": DNT if target == "llmlog-dnt" else self.headers.get(target, {})})
            self._count(target, result)
            out["latency"][target] = result
        for target in self._targets(["direct", *proxies], round_no):
            out["throughput"][target] = self._measured(target, {
                "kind": "throughput", "url": self.urls[target] + CHAT, "concurrency": CONCURRENCY,
                "duration_s": s["thr_s"], "headers": self.headers.get(target, {})})
        for target in self._targets(["direct", *proxies], round_no):
            out["sse"][target] = self._measured(target, {
                "kind": "sse", "url": self.urls[target] + CHAT, "chunks": 64, "delay_ms": 20,
                "streams": s["sse_streams"], "concurrency": CONCURRENCY, "headers": self.headers.get(target, {})})
        return out

    def _measured(self, target: str, job: dict) -> dict:
        """Run `job` against `target` from quiet servers, with the CPU each process used over it: the
        proxy's per call (for llmlog until it has written an entry for every call sent, and by
        thread), and the cores the load side (upstream and load generator) and the proxy kept busy."""
        watched = {"upstream": self.upstream.pid, "loadgen": self.loadgen.pid}
        if target in self.servers:
            watched["proxy"] = self.servers[target].pid
        self._settle()
        is_llmlog = target in self.sent or target == NO_LOGGING
        threads_before = thread_cpu_seconds(watched["proxy"]) if is_llmlog else {}
        before = {k: cpu_seconds(p) for k, p in watched.items()}
        result = _job(self.loadgen, job)
        window_end = time.monotonic()
        used = {k: (cpu_seconds(p) - before[k]) / result["elapsed_s"] for k, p in watched.items()}
        result["cpu_cores"] = {**used, "load_core": used["upstream"] + used["loadgen"]}
        self._count(target, result)
        if target in self.servers:
            # logging finishing after the window (the writer yields to requests) is part of the cost
            self._wait_logged(target)
            result["cpu_us_per_call"] = (cpu_seconds(watched["proxy"]) - before["proxy"]) / result["sent"] * 1e6
            if threads_before:
                result["cpu_us_per_call_by_thread"] = _by_thread(
                    threads_before, thread_cpu_seconds(watched["proxy"]), result["cpu_us_per_call"], result["sent"])
            # served and logged: the window plus the time until the last entry was written, so logging
            # postponed past the window counts (what a load sustained for longer would see)
            caught_up_s = time.monotonic() - window_end if target in self.sent else 0.0
            result["logged_rps"] = result["sent"] / (result["elapsed_s"] + caught_up_s)
            result["caught_up_s"] = caught_up_s
        return result

    def _settle(self) -> None:
        """Every measurement starts from quiet servers: each llmlog has logged all it was sent,
        and its background checkpoint pass (every 0.5 s) has had time to run."""
        for name in self.sent:
            self._wait_logged(name)
        time.sleep(SETTLE_S)

    def _wait_logged(self, name: str, timeout_s: float = 60) -> None:
        """Until llmlog has written an entry for every call sent to it (ideal has nothing to wait for)."""
        if name not in self.sent:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._metric(name, "llmlog_entries_written_total") >= self.sent[name]:
                return
            time.sleep(0.05)

    def _metric(self, name: str, metric: str) -> float:
        """One of llmlog's /metrics samples (without labels)."""
        text = urllib.request.urlopen(self.servers[name].url + "/metrics", timeout=5).read().decode()
        return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(metric + " "))

    def sustained(self) -> dict:
        """The issue's saturation test: ideal, then llmlog, each a closed loop at c=32 for SUSTAINED_S.
        llmlog's calls count as logged once the last entry is written (`caught_up_s` after the
        window); entries spilled for lack of writer throughput are read from /metrics."""
        out: dict = {}
        for target in ("ideal", "llmlog"):
            spilled = self._metric(target, "llmlog_entries_spilled_total") if target in self.sent else 0.0
            result = self._measured(target, {"kind": "throughput", "url": self.urls[target] + CHAT,
                                             "concurrency": CONCURRENCY, "duration_s": SUSTAINED_S})
            if target in self.sent:
                result["spilled"] = self._metric(target, "llmlog_entries_spilled_total") - spilled
            out[target] = result
        out["logged_vs_ideal"] = out["llmlog"]["logged_rps"] / out["ideal"]["rps"]
        return out

    # -- memory, durability -----------------------------------------------------------------------
    def memory(self) -> dict:
        out = {}
        for name, server in self.servers.items():
            if name == NO_LOGGING or name in self.peers:  # peers: the rounds only
                continue
            self._count(name, _job(self.loadgen, {"kind": "latency", "url": server.url + CHAT, "n": 50}))
            self._count(name, _job(self.loadgen, {"kind": "sse", "url": server.url + CHAT, "chunks": 4,
                                                  "delay_ms": 1, "streams": 8, "concurrency": 4}))
            time.sleep(0.5)  # let the writer flush the warm-up
            idle = rss_kib(server.pid)
            out[name] = self._held_memory(server, idle, {})
            # the test: 1,000 streams sending for 10 s (an event every 100 ms), RSS near their end,
            # when each holds almost all it will log
            time.sleep(0.5)
            streaming = self._held_memory(server, rss_kib(server.pid), {"chunks": STREAM_EVENTS,
                                                                        "pause_ms": STREAM_EVENT_MS},
                                          wait_s=STREAM_EVENTS * STREAM_EVENT_MS / 1000 * 0.9)
            out[name].update({f"streaming_{k}": v for k, v in streaming.items()})
        return out

    def _held_memory(self, server: Server, idle: int, stream: dict, wait_s: float = 0.0) -> dict:
        """RSS with `hold` streams open (their shape in `stream`), `wait_s` after all have opened."""
        self.loadgen.send(orjson.dumps({"kind": "hold", "url": server.url + CHAT,
                                        "streams": self.s["hold"], **stream}).decode())
        held = orjson.loads(self.loadgen.read())["held"]
        time.sleep(wait_s)
        at_peak = rss_kib(server.pid)
        self.loadgen.send("release")
        result = orjson.loads(self.loadgen.read())
        self._count(server.name, result)
        return {"idle_kib": idle, "held_streams": held, "held_kib": at_peak,
                "per_stream_kib": (at_peak - idle) / held if held else None}

    def durability(self) -> dict:
        out = {}
        for name, server in self.servers.items():
            if name not in self.sent:
                continue
            depth, deadline = None, time.monotonic() + 60
            while time.monotonic() < deadline:
                health = orjson.loads(urllib.request.urlopen(server.url + "/healthz", timeout=5).read())
                depth = health.get("queue_depth")
                if depth == 0:
                    break
                time.sleep(0.2)
            code = server.stop()
            conn = sqlite3.connect(server.db)
            rows = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
            statuses = dict(conn.execute("SELECT status, count(*) FROM calls GROUP BY status").fetchall())
            conn.close()
            spill_path = spill_path_for(server.db)
            spill = os.path.getsize(spill_path) if os.path.exists(spill_path) else 0
            out[name] = {"sent": self.sent[name], "rows": rows, "lost": self.sent[name] - rows,
                         "by_status": statuses, "spill_bytes": spill, "exit_code": code}
        return out

    def stop(self) -> None:
        self.loadgen.close()
        for server in [*self.servers.values(), self.upstream]:
            server.stop()


# -- figures ------------------------------------------------------------------------------------
def summarise(rounds: list[dict], proxies: list[str]) -> dict:
    def per_round(fn) -> dict:
        return _spread([fn(r) for r in rounds])

    def lat(r: dict, t: str, q: str) -> float:
        return r["latency"][t]["latency_us"][q]

    def rps(r: dict, t: str) -> float:
        return r["throughput"][t]["rps"]

    def cpu_us(r: dict, t: str) -> float:
        return r["throughput"][t]["cpu_us_per_call"]

    def sse(r: dict, t: str, m: str, q: str) -> float:
        return r["sse"][t][m][q]

    fig: dict = {}
    for p in [*proxies, "llmlog-dnt"]:
        fig[f"added_latency_p50_us[{p}]"] = per_round(lambda r, p=p: lat(r, p, "p50") - lat(r, "direct", "p50"))
        fig[f"added_latency_p99_us[{p}]"] = per_round(lambda r, p=p: lat(r, p, "p99") - lat(r, "direct", "p99"))
    for p in proxies:
        fig[f"throughput_vs_direct[{p}]"] = per_round(lambda r, p=p: rps(r, p) / rps(r, "direct"))
        fig[f"throughput_vs_ideal[{p}]"] = per_round(lambda r, p=p: rps(r, p) / rps(r, "ideal"))
        fig[f"throughput_rps[{p}]"] = per_round(lambda r, p=p: rps(r, p))
        fig[f"logged_throughput_vs_ideal[{p}]"] = per_round(
            lambda r, p=p: r["throughput"][p]["logged_rps"] / rps(r, "ideal"))
        # proxy CPU per call (all threads, logging included up to the last entry written): robust to a
        # busy machine, unlike req/s
        fig[f"cpu_us_per_call[{p}]"] = per_round(lambda r, p=p: cpu_us(r, p))
        fig[f"cpu_per_call_vs_ideal[{p}]"] = per_round(lambda r, p=p: cpu_us(r, p) / cpu_us(r, "ideal"))
        if p not in rounds[0]["sse"]:
            continue
        fig[f"sse_added_ttfb_p50_us[{p}]"] = per_round(
            lambda r, p=p: sse(r, p, "ttfb_us", "p50") - sse(r, "direct", "ttfb_us", "p50"))
        fig[f"sse_added_ttfb_p99_us[{p}]"] = per_round(
            lambda r, p=p: sse(r, p, "ttfb_us", "p99") - sse(r, "direct", "ttfb_us", "p99"))
        fig[f"sse_cpu_us_per_call[{p}]"] = per_round(lambda r, p=p: r["sse"][p]["cpu_us_per_call"])
        fig[f"sse_cpu_per_call_vs_ideal[{p}]"] = per_round(
            lambda r, p=p: r["sse"][p]["cpu_us_per_call"] / r["sse"]["ideal"]["cpu_us_per_call"])
        fig[f"sse_gap_p99_us[{p}]"] = per_round(lambda r, p=p: sse(r, p, "gap_us", "p99"))
        fig[f"sse_added_gap_p99_us[{p}]"] = per_round(
            lambda r, p=p: sse(r, p, "gap_us", "p99") - sse(r, "direct", "gap_us", "p99"))
    fig["throughput_rps[direct]"] = per_round(lambda r: r["throughput"]["direct"]["rps"])
    # what logging costs: the same llmlog with logging switched off (bench/serve_shim.py)
    fig["logging_on_off_latency_p50_ratio[llmlog/llmlog-nolog]"] = per_round(
        lambda r: lat(r, "llmlog", "p50") / lat(r, NO_LOGGING, "p50"))
    fig["logging_on_off_latency_p99_ratio[llmlog/llmlog-nolog]"] = per_round(
        lambda r: lat(r, "llmlog", "p99") / lat(r, NO_LOGGING, "p99"))
    fig["logging_on_off_throughput_ratio[llmlog/llmlog-nolog]"] = per_round(
        lambda r: r["throughput"]["llmlog"]["rps"] / r["throughput"][NO_LOGGING]["rps"])
    for role in ("loop and rest", "writer", "checkpoint", "readers"):
        fig[f"cpu_us_per_call_by_thread[llmlog {role}]"] = per_round(
            lambda r, role=role: r["throughput"]["llmlog"]["cpu_us_per_call_by_thread"][role])
        fig[f"cpu_us_per_call_by_thread[llmlog-nolog {role}]"] = per_round(
            lambda r, role=role: r["throughput"][NO_LOGGING]["cpu_us_per_call_by_thread"][role])
    fig["logging_cpu_us_per_call[llmlog - llmlog-nolog]"] = per_round(
        lambda r: r["throughput"]["llmlog"]["cpu_us_per_call"] - r["throughput"][NO_LOGGING]["cpu_us_per_call"])
    fig["sse_logging_cpu_us_per_call[llmlog - llmlog-nolog]"] = per_round(
        lambda r: r["sse"]["llmlog"]["cpu_us_per_call"] - r["sse"][NO_LOGGING]["cpu_us_per_call"])
    for role in ("loop and rest", "writer"):
        fig[f"sse_cpu_us_per_call_by_thread[llmlog {role}]"] = per_round(
            lambda r, role=role: r["sse"]["llmlog"]["cpu_us_per_call_by_thread"][role])
    fig["latency_p50_ratio[llmlog/ideal]"] = per_round(lambda r: lat(r, "llmlog", "p50") / lat(r, "ideal", "p50"))
    fig["tracked_vs_dnt_latency_ratio[llmlog/llmlog-dnt]"] = per_round(
        lambda r: r["latency"]["llmlog"]["latency_us"]["p50"] / r["latency"]["llmlog-dnt"]["latency_us"]["p50"])
    if "llmlog-uvloop" in proxies:
        fig["uvloop_throughput_ratio[llmlog-uvloop/llmlog]"] = per_round(
            lambda r: r["throughput"]["llmlog-uvloop"]["rps"] / r["throughput"]["llmlog"]["rps"])
        fig["uvloop_latency_p50_delta_us[llmlog-uvloop - llmlog]"] = per_round(
            lambda r: r["latency"]["llmlog-uvloop"]["latency_us"]["p50"] - r["latency"]["llmlog"]["latency_us"]["p50"])
    return fig


# llmlog's named threads (store/runner.py `name_this_thread`), by role; the rest of the process's CPU
# is the event loop's thread (requests, building entries) and short-lived worker threads
THREAD_ROLES = {"llmlog-writer": "writer", "llmlog-catch-up": "writer", "llmlog-checkpoi": "checkpoint"}


def _by_thread(before: dict[str, float], after: dict[str, float], total_us: float, calls: int) -> dict[str, float]:
    """CPU µs per call by role: writer, checkpoint, readers, and the loop with everything else
    (the process's total less the named threads', so threads that ended still count)."""
    out = {"writer": 0.0, "checkpoint": 0.0, "readers": 0.0}
    for name, seconds in after.items():
        role = THREAD_ROLES.get(name, "readers" if name.startswith("llmlog-reader") else None)
        if role is not None:
            out[role] += (seconds - before.get(name, 0.0)) / calls * 1e6
    out["loop and rest"] = total_us - sum(out.values())
    return out


def bottleneck_flags(rounds: list[dict], proxies: list[str]) -> list[str]:
    """The proxy must be what limits a proxied throughput run; say so when it was not."""
    flags = []
    for p in proxies:
        load = statistics.median(r["throughput"][p]["cpu_cores"]["load_core"] for r in rounds)
        proxy = statistics.median(r["throughput"][p]["cpu_cores"]["proxy"] for r in rounds)
        if load >= 0.9 and proxy < 0.9:
            flags.append(f"{p}: load core (upstream + load generator) at {load:.2f} cores while the proxy used "
                         f"{proxy:.2f}: the fake upstream/load was the bottleneck, ratios are lower bounds")
    up = statistics.median(r["throughput"]["direct"]["cpu_cores"]["upstream"] for r in rounds)
    if up >= 0.6:
        flags.append(f"direct: the fake upstream used {up:.2f} of its shared core; direct throughput is bounded "
                     "by upstream + load generator sharing one core")
    return flags


TABLE = [
    ("added latency p50, c=1 (µs)", "added_latency_p50_us[{p}]", "{:.0f}"),
    ("added latency p99, c=1 (µs)", "added_latency_p99_us[{p}]", "{:.0f}"),
    (f"throughput c={CONCURRENCY} (req/s)", "throughput_rps[{p}]", "{:.0f}"),
    (f"throughput c={CONCURRENCY} / direct", "throughput_vs_direct[{p}]", "{:.2f}"),
    (f"throughput c={CONCURRENCY} / ideal", "throughput_vs_ideal[{p}]", "{:.2f}"),
    ("… served and logged / ideal", "logged_throughput_vs_ideal[{p}]", "{:.2f}"),
    (f"proxy CPU per call, c={CONCURRENCY} (µs)", "cpu_us_per_call[{p}]", "{:.0f}"),
    ("CPU per call / ideal", "cpu_per_call_vs_ideal[{p}]", "{:.2f}"),
    (f"SSE c={CONCURRENCY} CPU per stream (µs)", "sse_cpu_us_per_call[{p}]", "{:.0f}"),
    ("SSE CPU per stream / ideal", "sse_cpu_per_call_vs_ideal[{p}]", "{:.2f}"),
    ("SSE added TTFB p50 (µs)", "sse_added_ttfb_p50_us[{p}]", "{:.0f}"),
    ("SSE added TTFB p99 (µs)", "sse_added_ttfb_p99_us[{p}]", "{:.0f}"),
    ("SSE inter-chunk gap p99 (µs)", "sse_gap_p99_us[{p}]", "{:.0f}"),
    ("SSE added gap p99 (µs)", "sse_added_gap_p99_us[{p}]", "{:.0f}"),
]


def print_table(result: dict) -> None:
    fig, proxies = result["figures"], result["proxies"]

    def cell(v: dict, f: str) -> str:
        return f"{f.format(v['median'])} [{f.format(v['min'])}–{f.format(v['max'])}]"

    print(f"\nllmlog bench {result['date']} · {result['machine']['cpu']} · {result['machine']['cores']} cores · "
          f"{'quick' if result['quick'] else 'full'} · {result['settings']['rounds']} rounds · medians [min–max]")
    print(f"{'figure':32}" + "".join(f"{p:>26}" for p in proxies))
    for label, key, f in TABLE:
        row = [cell(fig[key.format(p=p)], f) if key.format(p=p) in fig else "" for p in proxies]
        print(f"{label:32}" + "".join(f"{c:>26}" for c in row))
    print(f"{f'direct throughput c={CONCURRENCY} (req/s)':32}{cell(fig['throughput_rps[direct]'], '{:.0f}'):>26}")
    for key in ("added_latency_p50_us[llmlog-dnt]", "added_latency_p99_us[llmlog-dnt]",
                "logging_on_off_latency_p50_ratio[llmlog/llmlog-nolog]",
                "logging_on_off_latency_p99_ratio[llmlog/llmlog-nolog]",
                "logging_on_off_throughput_ratio[llmlog/llmlog-nolog]",
                "logging_cpu_us_per_call[llmlog - llmlog-nolog]",
                "sse_logging_cpu_us_per_call[llmlog - llmlog-nolog]",
                "sse_cpu_us_per_call_by_thread[llmlog loop and rest]", "sse_cpu_us_per_call_by_thread[llmlog writer]",
                *(f"cpu_us_per_call_by_thread[{p} {role}]" for p in ("llmlog", NO_LOGGING)
                  for role in ("loop and rest", "writer", "checkpoint", "readers")),
                "latency_p50_ratio[llmlog/ideal]", "tracked_vs_dnt_latency_ratio[llmlog/llmlog-dnt]",
                "uvloop_throughput_ratio[llmlog-uvloop/llmlog]", "uvloop_latency_p50_delta_us[llmlog-uvloop - llmlog]"):
        if key in fig:
            print(f"  {key:58} {cell(fig[key], '{:.2f}' if 'ratio' in key else '{:.0f}')}")
    for name, m in result["memory"].items():
        per = m["per_stream_kib"]
        print(f"  RSS {name:14} idle {m['idle_kib'] / 1024:6.1f} MiB; {m['held_streams']} open streams "
              f"{m['held_kib'] / 1024:6.1f} MiB; per stream {per:.1f} KiB" if per is not None else "")
        if (per := m.get("streaming_per_stream_kib")) is not None:
            print(f"  RSS {name:14} {m['streaming_held_streams']} streams sending for "
                  f"{STREAM_EVENTS * STREAM_EVENT_MS / 1000:.0f} s: {m['streaming_held_kib'] / 1024:6.1f} MiB "
                  f"at {0.9 * STREAM_EVENTS * STREAM_EVENT_MS / 1000:.0f} s; per stream {per:.1f} KiB")
    w = result["writer"]
    print("  writer rows/s by batch size: " + ", ".join(
        f"{k}: {v['rows_per_s']:.0f}" for k, v in w["by_batch_size"].items()) + f" (best {w['best_batch_size']})")
    print("  build_entry µs/call (median): " + ", ".join(
        f"{k} {v['median_us']:.0f}" for k, v in result["pipeline"].items()))
    for name, d in result["durability"].items():
        print(f"  entries {name}: sent {d['sent']}, stored {d['rows']}, lost {d['lost']} "
              f"(spill {d['spill_bytes']} B, exit {d['exit_code']})")
    for name, peer in result.get("peers", {}).items():
        said = f"version {peer['version']}" if "version" in peer else f"left out ({peer['left_out']})"
        print(f"  peer {name}: {said}")
    if sus := result.get("sustained"):
        llm = sus["llmlog"]
        print(f"  sustained {SUSTAINED_S} s at c={CONCURRENCY}: ideal {sus['ideal']['rps']:.0f} req/s; llmlog served "
              f"{llm['rps']:.0f} req/s, logged {llm['logged_rps']:.0f} req/s ({sus['logged_vs_ideal']:.2f}x ideal), "
              f"last entry written {llm['caught_up_s']:.2f} s after the load, {llm['spilled']:.0f} spilled")
    for flag in result["flags"]:
        print(f"  FLAG: {flag}")
    if result.get("profile"):
        print(f"  profile (py-spy, llmlog at c={CONCURRENCY}), top self time:")
        for row in result["profile"]["top_self"][:15]:
            print(f"    {row['share']:6.1%}  {row['frame']}")


def _sqlite_writer(quick: bool) -> dict:
    with bench_writer.sqlite_files() as fresh:
        return bench_writer.measure(fresh, quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument("--uvloop", action="store_true", help="also run llmlog with LLMLOG_UVLOOP=1")
    parser.add_argument("--profile", action="store_true", help="py-spy llmlog during an extra closed-loop run")
    parser.add_argument("--peers", action="store_true",
                        help="also run the LiteLLM proxy and the Portkey gateway (installed once into a cache dir)")
    parser.add_argument("--rounds", type=int, help="override the number of measured rounds")
    parser.add_argument("--sustained", action="store_true",
                        help=f"also run ideal and llmlog at saturation for {SUSTAINED_S} s each, after the rounds")
    args = parser.parse_args(argv)
    raise_fd_limit()
    bench = Bench(args)
    if args.rounds:
        bench.s["rounds"] = args.rounds
    started = time.monotonic()
    bench.start()
    proxies = list(bench.servers)
    try:
        print(f"memory at {bench.s['hold']} open streams… (logs in {bench.tmp})", file=sys.stderr)
        memory = bench.memory()  # first, while the proxies are fresh
        print("warm-up…", file=sys.stderr)
        bench.round(0)
        rounds = []
        for i in range(bench.s["rounds"]):
            print(f"round {i + 1}/{bench.s['rounds']}…", file=sys.stderr)
            rounds.append(bench.round(i))
        profile = None
        if args.profile:
            profile = profile_during(bench.servers["llmlog"].pid, os.path.join(bench.tmp, "llmlog.profile.txt"),
                                     lambda: bench._count("llmlog", _job(bench.loadgen, {
                                         "kind": "throughput", "url": bench.urls["llmlog"] + CHAT,
                                         "concurrency": CONCURRENCY, "duration_s": 8})))
        sustained = None
        if args.sustained:
            print(f"{SUSTAINED_S} s at saturation, ideal then llmlog…", file=sys.stderr)
            sustained = bench.sustained()
        durability = bench.durability()
    finally:
        bench.stop()
    print("writer and build_entry timings…", file=sys.stderr)
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": args.quick,
        "machine": {"cpu": _cpu_model(), "cores": len(cores()), "python": platform.python_version(),
                    "load_avg_at_end": os.getloadavg()},
        "settings": bench.s, "proxies": proxies, "figures": summarise(rounds, proxies),
        "flags": bottleneck_flags(rounds, proxies), "memory": memory, "durability": durability,
        "writer": _sqlite_writer(args.quick), "pipeline": bench_pipeline.measure(args.quick),
        "profile": profile, "sustained": sustained, "peers": bench.peers, "rounds": rounds, "elapsed_s": None,
    }
    result["elapsed_s"] = time.monotonic() - started
    out_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, result["date"].replace(":", "") + ("-quick" if args.quick else "") + ".json")
    with open(path, "wb") as f:
        f.write(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    print_table(result)
    print(f"\nJSON: {path} ({result['elapsed_s']:.0f} s)")
    lost = sum(d["lost"] for d in durability.values())
    return 1 if lost else 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
