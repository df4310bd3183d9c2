"""Parse + price timing, off the request path: median µs per `proxy.pipeline.interpret.build_entry` call.

Run: `python -m bench.bench_pipeline [--quick]`.
"""

from __future__ import annotations

import statistics
import sys
import time

from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.pipeline.interpret import build_entry

from .samples import KINDS, captured


def measure(quick: bool = False) -> dict:
    prices = PriceTable.shipped()
    repeats, calls = (5, 200) if quick else (9, 1000)
    out = {}
    for kind in KINDS:
        call = captured(kind)
        build_entry(call, prices, 1 << 20)  # warm: tiktoken encoding load, price lookup caches
        per_call = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                build_entry(call, prices, 1 << 20)
            per_call.append((time.perf_counter() - start) / calls * 1e6)
        entry = build_entry(call, prices, 1 << 20)
        out[kind] = {"median_us": statistics.median(per_call), "min_us": min(per_call), "max_us": max(per_call),
                     "usage_source": entry.call["usage_source"], "priced": bool(entry.call["priced"])}
    return out


if __name__ == "__main__":
    for kind, figures in measure("--quick" in sys.argv).items():
        print(f"{kind:14} {figures['median_us']:8.1f} µs/call  (min {figures['min_us']:.1f}, "
              f"max {figures['max_us']:.1f}; usage {figures['usage_source']}, priced {figures['priced']})")
