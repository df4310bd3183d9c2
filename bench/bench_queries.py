"""Query latency on a large store: seeds N synthetic entries, times the common logs-API queries.

Each query is built exactly as the API builds it (same parameter parsing, same Store method),
then timed over repeated runs on one store; p50 and p99 in milliseconds. Not run by CI. `--db`
takes a SQLite file or a postgresql:// URL, so both backends answer the same questions.

    python -m bench.bench_queries                # 1,000,000 entries (seeding takes a few minutes)
    python -m bench.bench_queries --n 100000 --runs 50
    python -m bench.bench_queries --db /tmp/big.db --reuse   # skip seeding an already seeded store
    python -m bench.bench_queries --db postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
from multidict import MultiDict

from proxy.api.aggregates import stats_request, summary_filter
from proxy.api.params import FILTER_PARAMS, PAGE_PARAMS, Query, parse_filter, parse_page
from proxy.ids import new_call_id
from store.backends import open_store
from store.figures import percentile
from store.filters import LogFilter, Page
from store.interface import Store
from store.rows import CALL_COLUMNS, CONTENT_COLUMNS, Entry

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


def timed(store: Store, method, args, runs: int) -> list[float]:
    call = getattr(store, method.__name__)  # the backend's own method of that name
    call(*args)  # warm the caches
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        call(*args)
        out.append((time.perf_counter() - began) * 1000)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="entries to seed (default 1,000,000)")
    parser.add_argument("--days", type=int, default=30, help="spread them over this many days (default 30)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query (default 30)")
    parser.add_argument("--db", help="SQLite file or postgresql:// URL (default: a temporary file, deleted afterwards)")
    parser.add_argument("--reuse", action="store_true", help="the --db store is already seeded: skip seeding")
    args = parser.parse_args()
    tmp = None
    if args.db:
        location = args.db
    else:
        tmp = tempfile.TemporaryDirectory(prefix="llmlog-bench-")
        location = os.path.join(tmp.name, "bench.db")
    seeded_s = None
    if args.reuse:
        probe = open_store(location, create=False)
        now_ms = probe.list_logs(LogFilter(), Page(limit=1)).rows[0]["started_at"] + 1
        probe.close()
    else:
        now_ms = int(time.time() * 1000)
        print(f"seeding {args.n:,} entries over {args.days} days into {location}", file=sys.stderr)
        seeded_s = seed(location, args.n, now_ms, args.days)
    store = open_store(location)
    results = []
    print(f"{'query':32} {'p50 ms':>9} {'p99 ms':>9}")
    for name, (method, method_args) in cases(now_ms).items():
        times = timed(store, method, method_args, args.runs)
        p50, p99 = percentile(times, 50), percentile(times, 99)
        results.append({"query": name, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "runs": args.runs})
        print(f"{name:32} {p50:9.2f} {p99:9.2f}", flush=True)
    rows = store.count(LogFilter())
    store.close()
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = out_dir / f"bench_queries-{store.backend}-{stamp}.json"
    out.write_bytes(orjson.dumps({"backend": store.backend, "entries": rows, "days": args.days,
                                  "seed_seconds": seeded_s, "results": results}, option=orjson.OPT_INDENT_2))
    print(f"wrote {out}", file=sys.stderr)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
