"""Parse + price timing, off the request path: median µs per `proxy.pipeline.interpret.build_entry` call;
and what storing each entry's content costs on top (store/sealing.py `stored_form`, in the writer
thread): bodies packed, and with an encryption key configured packed and sealed (AES-256-GCM).

Run: `python -m bench.bench_pipeline [--quick]`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.pipeline.interpret import build_entry
from llmlog.store.keyring import Keyring
from llmlog.store.sealing import stored_form

from .samples import KINDS, captured


def _median_us(work: Callable[[], object], repeats: int, calls: int) -> tuple[float, float, float]:
    per_call = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            work()
        per_call.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(per_call), min(per_call), max(per_call)


def measure(quick: bool = False) -> dict:
    prices = PriceTable.shipped()
    keyring = Keyring.of([os.urandom(32)])
    repeats, calls = (5, 200) if quick else (9, 1000)
    out = {}
    for kind in KINDS:
        call = captured(kind)
        entry = build_entry(call, prices, 1 << 20)  # warm: tiktoken encoding load, price lookup caches
        median, low, high = _median_us(lambda: build_entry(call, prices, 1 << 20), repeats, calls)  # noqa: B023
        content = entry.content
        assert content is not None
        packed, _, _ = _median_us(lambda: stored_form(content, None), repeats, calls)  # noqa: B023
        sealed, _, _ = _median_us(lambda: stored_form(content, keyring), repeats, calls)  # noqa: B023
        out[kind] = {"median_us": median, "min_us": low, "max_us": high,
                     "usage_source": entry.call["usage_source"], "priced": bool(entry.call["priced"]),
                     "pack_us": packed, "pack_seal_us": sealed, "seal_us": sealed - packed}
    return out


if __name__ == "__main__":
    for kind, figures in measure("--quick" in sys.argv).items():
        print(f"{kind:14} {figures['median_us']:8.1f} µs/call  (min {figures['min_us']:.1f}, "
              f"max {figures['max_us']:.1f}; usage {figures['usage_source']}, priced {figures['priced']})"
              f"  store: pack {figures['pack_us']:.1f} µs, pack+seal {figures['pack_seal_us']:.1f} µs "
              f"(seal {figures['seal_us']:.1f} µs)")
