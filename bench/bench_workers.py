"""`llmlog serve --workers 1` against `--workers 2`: the same closed-loop chat load, interleaved rounds.

Both llmlogs run at once (each its own SQLite file), the fake upstream and the load generator beside
them; in each round each gets the same closed-loop chat load at c=32 for a few seconds, the order
rotated every round. Nothing is pinned: on a 2-core machine the load side (upstream + load generator)
shares the cores with the workers, so a second worker competes with it for CPU. The load side's share
in the same window is reported with each figure: when it takes a core, the proxy has at most the
other, and req/s is a floor on what two workers do, not a measure of their ceiling.

Per round and target: req/s; proxy CPU per call (every process of the target, the supervisor and
each worker summed, counted until every call sent has its row in the database, so logging finished
after the window is included); the cores the proxy and the load side kept busy. At the end: each
llmlog is stopped (SIGTERM) and its rows are counted against the calls sent to it.

Run: `python -m bench.bench_workers [--rounds 5] [--seconds 4]`. Prints a table and writes
bench/results/<UTC time>-workers.json.
"""

from __future__ import annotations

import argparse
import glob
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

import orjson

from .common import cores, cpu_seconds, free_port, raise_fd_limit
from .procs import ROOT, LoadGen, Server

CHAT = "/v1/chat/completions"
CONCURRENCY = 32
TARGETS = {"workers-1": 1, "workers-2": 2}
SETTLE_S = 0.6


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def family(pid: int) -> list[int]:
    """A process and its children (the supervisor and its workers), from /proc."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [pid, *(int(child) for child in children.read().split())]
    except OSError:
        return [pid]


def rows(db: str) -> int:
    if not os.path.exists(db):
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    finally:
        conn.close()


class Bench:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.tmp = tempfile.mkdtemp(prefix="llmlog-bench-workers-")
        self.sent = {name: 0 for name in TARGETS}

    def start(self) -> None:
        up_port = free_port()
        self.upstream = Server("upstream", ["-m", "bench.upstream", str(up_port)], up_port, None, "/ping",
                               log_dir=self.tmp)
        self.servers: dict[str, Server] = {}
        for name, workers in TARGETS.items():
            port, db = free_port(), os.path.join(self.tmp, f"{name}.db")
            server = Server(name, ["-m", "llmlog.cli", "serve", "--db", db, "--upstream", self.upstream.url,
                                   "--port", str(port), "--workers", str(workers)], port, None, "/healthz",
                            env={"XDG_DATA_HOME": self.tmp, "XDG_CONFIG_HOME": self.tmp}, log_dir=self.tmp)
            server.db = db
            self._until_banner(server)
            self.servers[name] = server
        self.loadgen = LoadGen(None)

    @staticmethod
    def _until_banner(server: Server, timeout_s: float = 60) -> None:
        """The banner is printed once every worker listens (/healthz answers with the first)."""
        deadline = time.monotonic() + timeout_s
        while "proxying on" not in open(server.log_path, errors="replace").read():
            if time.monotonic() > deadline or server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} did not start; see {server.log_path}")
            time.sleep(0.1)

    def _job(self, job: dict) -> dict:
        self.loadgen.send(orjson.dumps(job).decode())
        return orjson.loads(self.loadgen.read())

    def _wait_stored(self, name: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while rows(self.servers[name].db) < self.sent[name] and time.monotonic() < deadline:
            time.sleep(0.05)

    def measure(self, name: str) -> dict:
        for other in self.servers:
            self._wait_stored(other)
        time.sleep(SETTLE_S)
        proxy = family(self.servers[name].pid)
        load = [self.upstream.pid, self.loadgen.pid]
        before = {pid: cpu_seconds(pid) for pid in proxy + load}
        result = self._job({"kind": "throughput", "url": self.servers[name].url + CHAT,
                            "concurrency": CONCURRENCY, "duration_s": self.seconds})
        elapsed = result["elapsed_s"]
        load_cpu = sum(cpu_seconds(pid) - before[pid] for pid in load)
        proxy_in_window = sum(cpu_seconds(pid) - before[pid] for pid in proxy)
        self.sent[name] += result["sent"]
        self._wait_stored(name)  # logging finished after the window is part of the cost
        used = [cpu_seconds(pid) - before[pid] for pid in proxy]
        return {"rps": result["rps"], "sent": result["sent"], "errors": result["errors"], "elapsed_s": elapsed,
                "cpu_us_per_call": sum(used) / result["sent"] * 1e6, "proxy_cores": proxy_in_window / elapsed,
                "load_cores": load_cpu / elapsed,
                # the process itself (with --workers 2 the supervisor), then its children: the workers
                "cpu_s_by_process": used}

    def round(self, round_no: int) -> dict:
        names = list(TARGETS)
        k = round_no % len(names)
        return {name: self.measure(name) for name in names[k:] + names[:k]}

    def finish(self) -> dict:
        """Stop each llmlog (SIGTERM: it drains and flushes) and count its rows against the calls sent."""
        out = {}
        for name, server in self.servers.items():
            code = server.stop(60)
            spilled = sum(os.path.getsize(p) for p in glob.glob(server.db + ".spill*"))
            out[name] = {"sent": self.sent[name], "stored": rows(server.db), "exit_code": code,
                         "spill_bytes_left": spilled}
        self.loadgen.close()
        self.upstream.stop()
        return out


def summarise(rounds: list[dict]) -> dict:
    fig: dict = {}
    for name in TARGETS:
        for key in ("rps", "cpu_us_per_call", "proxy_cores", "load_cores"):
            fig[f"{key}[{name}]"] = _spread([r[name][key] for r in rounds])
    fig["rps_ratio[workers-2/workers-1]"] = _spread([r["workers-2"]["rps"] / r["workers-1"]["rps"] for r in rounds])
    fig["cpu_per_call_ratio[workers-2/workers-1]"] = _spread(
        [r["workers-2"]["cpu_us_per_call"] / r["workers-1"]["cpu_us_per_call"] for r in rounds])
    return fig


def print_table(result: dict) -> None:
    fig = result["figures"]

    def cell(v: dict, fmt: str) -> str:
        return f"{v['median']:{fmt}} [{v['min']:{fmt}}–{v['max']:{fmt}}]"

    print(f"\nchat closed loop c={CONCURRENCY}, {result['settings']['rounds']} interleaved rounds of "
          f"{result['settings']['seconds']} s, {result['machine']['cores']} cores, nothing pinned "
          "(median [min–max] over rounds)")
    print(f"{'figure':<34}{'--workers 1':>26}{'--workers 2':>26}")
    for key, label, fmt in (("rps", "req/s", ",.0f"), ("cpu_us_per_call", "proxy CPU per call (µs)", ".0f"),
                            ("proxy_cores", "proxy cores busy", ".2f"), ("load_cores", "load side cores busy", ".2f")):
        print(f"{label:<34}{cell(fig[f'{key}[workers-1]'], fmt):>26}{cell(fig[f'{key}[workers-2]'], fmt):>26}")
    print(f"{'req/s ratio 2/1':<34}{cell(fig['rps_ratio[workers-2/workers-1]'], '.2f'):>26}")
    print(f"{'CPU per call ratio 2/1':<34}{cell(fig['cpu_per_call_ratio[workers-2/workers-1]'], '.2f'):>26}")
    for name, d in result["stored"].items():
        print(f"{name}: {d['stored']:,} entries stored of {d['sent']:,} calls sent; exit {d['exit_code']}, "
              f"{d['spill_bytes_left']} spill bytes left")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_workers", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (after one warm-up round)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each closed-loop run")
    args = parser.parse_args(argv)
    raise_fd_limit()
    bench = Bench(args.seconds)
    started = time.monotonic()
    bench.start()
    try:
        print(f"warm-up… (logs in {bench.tmp})", file=sys.stderr)
        bench.round(0)
        rounds = []
        for i in range(args.rounds):
            print(f"round {i + 1}/{args.rounds}…", file=sys.stderr)
            rounds.append(bench.round(i))
    finally:
        stored = bench.finish()
    result = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "machine": {"cores": len(cores()), "load_avg_at_end": os.getloadavg()},
              "settings": {"rounds": args.rounds, "seconds": args.seconds, "concurrency": CONCURRENCY},
              "figures": summarise(rounds), "stored": stored, "rounds": rounds,
              "elapsed_s": time.monotonic() - started}
    out_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, result["date"].replace(":", "") + "-workers.json")
    with open(path, "wb") as f:
        f.write(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print_table(result)
    print(f"\nJSON: {path} ({result['elapsed_s']:.0f} s)")
    return 1 if any(d["stored"] != d["sent"] for d in stored.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
