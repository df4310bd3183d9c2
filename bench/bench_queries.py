"""Query latency on a large store: seeds N synthetic entries, times the common logs-API queries.

Each query is built exactly as the API builds it (same parameter parsing, same Store method),
then timed over repeated runs; p50 and p99 in milliseconds. Not run by CI. `--db` takes a SQLite
file or a postgresql:// URL, so both backends answer the same questions; given twice, the stores
are seeded one after the other and timed side by side (each query's runs alternate between them).
One JSON file per store goes to bench/results/.

    python -m bench.bench_queries                # 1,000,000 entries into a temporary SQLite file
    python -m bench.bench_queries --backends both   # and into a throwaway PostgreSQL cluster, side by side
    python -m bench.bench_queries --n 100000 --runs 50
    python -m bench.bench_queries --db /tmp/big.db --seed-only       # seed a store and keep it
    python -m bench.bench_queries --db /tmp/big.db --db postgresql://postgres@127.0.0.1:5432/bench --reuse
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from multidict import MultiDict

from llmlog.proxy.ids import new_call_id
from llmlog.proxy.query.aggregates import stats_request, summary_filter
from llmlog.proxy.query.params import FILTER_PARAMS, PAGE_PARAMS, Query, parse_filter, parse_page
from llmlog.store.backends import open_store
from llmlog.store.figures import percentile
from llmlog.store.filters import LogFilter, Page
from llmlog.store.interface import Store
from llmlog.store.rows import CALL_COLUMNS, CONTENT_COLUMNS, Entry

DAY = 86_400_000
MODELS = (("gpt-4o-mini", "openai", 40), ("gpt-4o", "openai", 20), ("claude-sonnet-4-5", "anthropic", 15),
          ("claude-haiku-4-5", "anthropic", 10), ("gemini-2.5-flash", "google", 8), ("llama-3.1-8b", "local", 7))
WORDS = ("invoice refund shipping order password account billing weather recipe poem summary contract "
         "translate python error database kubernetes holiday flight hotel budget report meeting").split()
NEEDLE = "zanzibarquokka"  # a rare word: about one prompt in 5,000


def synthetic_entries(n: int, now_ms: int, days: int, seed: int = 1):
    """N plausible entries spread evenly over the last `days` days, oldest first, with content."""
    rng = random.Random(seed)
    names = [m for m, _, _ in MODELS]
    providers = {m: p for m, p, _ in MODELS}
    weights = [w for _, _, w in MODELS]
    keys = [(hashlib.sha256(f"sk-{i}".encode()).hexdigest(), f"sk-{i}") for i in range(20)]
    span = days * DAY
    for i in range(n):
        started = now_ms - span + (i * span) // n
        model = rng.choices(names, weights)[0]
        status = "success" if rng.random() < 0.93 else rng.choice(("error", "timeout", "client_closed"))
        inp, out = rng.randint(10, 6000), rng.randint(0, 1200)
        duration = round(rng.lognormvariate(6.5, 0.6), 1)
        key_hash, key_prefix = rng.choice(keys)
        tags = rng.sample(("alpha", "beta", "gamma", "delta"), rng.randint(0, 2))
        call = dict.fromkeys(CALL_COLUMNS)
        call_id = new_call_id(started)
        call.update(
            id=call_id, started_at=started, completed_at=started + int(duration), duration_ms=duration,
            ttfb_ms=round(duration * 0.2, 1), provider=providers[model], method="POST",
            path="/v1/chat/completions", model=model, response_model=model, stream=int(rng.random() < 0.5),
            status=status, status_code={"success": 200, "error": 500, "timeout": 504, "client_closed": 499}[status],
            input_tokens=inp, output_tokens=out, total_tokens=inp + out, usage_source="provider",
            priced=int(model != "llama-3.1-8b"),
            cost_micros=None if model == "llama-3.1-8b" else inp * 3 + out * 12,
            user_id=f"user-{rng.randint(1, 500)}", api_key_hash=key_hash, api_key_prefix=key_prefix,
            tags=orjson.dumps(tags).decode() if tags else None,
            environment=rng.choice(("prod", "prod", "staging", "dev")), task_type=rng.choice(("chat", "extraction")),
            depth=0, do_not_track=0, has_content=1,
        )
        prompt = " ".join(rng.choices(WORDS, k=12))
        if rng.random() < 0.0002:
            prompt += " " + NEEDLE
        content = dict.fromkeys(CONTENT_COLUMNS)
        content.update(call_id=call_id, request_truncated=0, response_truncated=0,
                       prompt_text=prompt, output_text=" ".join(rng.choices(WORDS, k=20)))
        yield Entry(call=call, content=content, tags=tags)


def seed(location: str, n: int, now_ms: int, days: int, batch: int = 20_000) -> float:
    store = open_store(location, writer=True)
    began = time.perf_counter()
    pending = []
    for i, entry in enumerate(synthetic_entries(n, now_ms, days), 1):
        pending.append(entry)
        if len(pending) >= batch:
            store.write_or_split(pending)
            pending = []
            store.checkpoint()
            print(f"\r  seeded {i:,}/{n:,}", end="", file=sys.stderr, flush=True)
    store.write_or_split(pending)
    store.checkpoint()
    store.close()
    print(file=sys.stderr)
    return time.perf_counter() - began


def cases(now_ms: int):
    """name -> (Store method, args), each built as the API builds it for the given query string."""
    def page(query: str):
        q = Query(MultiDict(_pairs(query)), FILTER_PARAMS + PAGE_PARAMS)
        return Store.list_logs, (parse_filter(q, now_ms), parse_page(q))

    def stats(query: str):
        f, group_by, compare = stats_request(MultiDict(_pairs(query)), now_ms)
        return Store.stats, (f, group_by, compare)

    return {
        "newest page (7 d)": page(""),
        "model + 24 h page": page("model=gpt-4o&start_date=-24h"),
        "cost-sorted page (7 d)": page("sort_by=cost"),
        "q= search (7 d)": page(f"q={NEEDLE}"),
        "q= common word (7 d)": page("q=invoice"),
        "summary 24 h": (Store.summary, (summary_filter(MultiDict(_pairs("start_date=-24h")), now_ms),)),
        "summary 7 d": (Store.summary, (summary_filter(MultiDict(), now_ms),)),
        "stats day buckets (7 d)": stats("group_by=day"),
        "stats hour buckets 24 h": stats("group_by=hour&start_date=-24h"),
        "stats model 24 h + previous": stats("group_by=model&start_date=-24h&compare=previous"),
    }


def _pairs(query: str) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in query.split("&") if part]


def timed_side_by_side(stores: list[Store], calls: list[tuple], runs: int) -> list[list[float]]:
    """Each store's times (ms, sorted) for its (method, args), the stores taking turns run by run,
    the first to go alternating, so a busy moment on the machine falls on all of them alike."""
    bound = [(getattr(store, method.__name__), args) for store, (method, args) in zip(stores, calls, strict=True)]
    for call, args in bound:
        call(*args)  # warm the caches
    out: list[list[float]] = [[] for _ in stores]
    for run in range(runs):
        order = range(len(bound)) if run % 2 == 0 else reversed(range(len(bound)))
        for i in order:
            call, args = bound[i]
            began = time.perf_counter()
            call(*args)
            out[i].append((time.perf_counter() - began) * 1000)
    return [sorted(times) for times in out]


def timed(store: Store, method, args, runs: int) -> list[float]:
    return timed_side_by_side([store], [(method, args)], runs)[0]


class BenchCluster:
    """A throwaway PostgreSQL cluster with the server's defaults except fsync=off (nothing here needs
    to survive a power cut), started as the tests start theirs (tests/fakes/postgres_server.py)."""

    def __init__(self):
        from tests.fakes.postgres_server import CLUSTER_USER, Cluster, find_bin_dir

        class Defaults(Cluster):
            def _pg_ctl_start(self):
                options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                           f"-c unix_socket_directories={self.root} -c fsync=off")
                return self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l",
                                 os.path.join(self.root, "server.log"), "-o", options)
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL's initdb/pg_ctl not found")
        self.cluster = Defaults(bin_dir, CLUSTER_USER if os.geteuid() == 0 else None, durable=True)
        self.url = self.cluster.start()

    def database(self, name: str) -> str:
        from tests.fakes.postgres_server import run_sql, with_database
        run_sql(self.url, f'CREATE DATABASE "{name}"')
        return with_database(self.url, name)

    def stop(self) -> None:
        self.cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="entries to seed (default 1,000,000)")
    parser.add_argument("--days", type=int, default=30, help="spread them over this many days (default 30)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query (default 30)")
    parser.add_argument("--db", action="append", default=[],
                        help="SQLite file or postgresql:// URL; give it twice to time two stores side by side "
                             "(default: a temporary SQLite file, deleted afterwards)")
    parser.add_argument("--backends", choices=("sqlite", "both"), default="sqlite",
                        help="without --db: 'both' also seeds a throwaway PostgreSQL cluster (server defaults, "
                             "fsync off) and times the two side by side")
    parser.add_argument("--reuse", action="store_true", help="the --db stores are already seeded: skip seeding")
    parser.add_argument("--seed-only", action="store_true", help="seed the --db stores, time nothing")
    args = parser.parse_args()
    tmp = cluster = None
    locations = list(args.db)
    if not locations:
        if args.reuse:
            raise SystemExit("--reuse needs --db")
        tmp = tempfile.TemporaryDirectory(prefix="llmlog-bench-")
        locations.append(os.path.join(tmp.name, "bench.db"))
        if args.backends == "both":
            cluster = BenchCluster()
            locations.append(cluster.database("bench"))
    try:
        run(args, locations)
    finally:
        if cluster:
            cluster.stop()
        if tmp:
            tmp.cleanup()


def run(args, locations: list[str]) -> None:
    seeded: list[float | None] = [None] * len(locations)
    now: list[int] = []
    if args.reuse:
        for location in locations:
            probe = open_store(location, create=False)
            now.append(probe.list_logs(LogFilter(), Page(limit=1)).rows[0]["started_at"] + 1)
            probe.close()
    else:
        now_ms = int(time.time() * 1000)
        for i, location in enumerate(locations):  # one after the other: each seed has the machine
            print(f"seeding {args.n:,} entries over {args.days} days into {location}", file=sys.stderr)
            seeded[i] = seed(location, args.n, now_ms, args.days)
            print(f"seeded {args.n:,} entries in {seeded[i]:.0f} s", file=sys.stderr)
            now.append(now_ms)
        if args.seed_only:
            return
    stores = [open_store(location) for location in locations]
    names = [store.backend for store in stores]
    results: list[list[dict]] = [[] for _ in stores]
    print(f"{'query':32}" + "".join(f" {name + ' p50':>16} {name + ' p99':>16}" for name in names))
    per_store = [cases(n) for n in now]
    for name in per_store[0]:
        times = timed_side_by_side(stores, [c[name] for c in per_store], args.runs)
        line = f"{name:32}"
        for i, t in enumerate(times):
            p50, p99 = percentile(t, 50), percentile(t, 99)
            results[i].append({"query": name, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "runs": args.runs})
            line += f" {p50:16.2f} {p99:16.2f}"
        print(line, flush=True)
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for i, store in enumerate(stores):
        rows = store.count(LogFilter())
        store.close()
        out = out_dir / f"bench_queries-{store.backend}-{rows}-{stamp}.json"
        out.write_bytes(orjson.dumps({"backend": store.backend, "entries": rows, "days": args.days,
                                      "seed_seconds": seeded[i],
                                      "side_by_side_with": [n for j, n in enumerate(names) if j != i],
                                      "results": results[i]}, option=orjson.OPT_INDENT_2))
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
