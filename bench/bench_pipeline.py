"""What logging one call costs off the request path, in median µs per call of each sample:

- `build_entry` (parse, usage, price; proxy/pipeline/interpret.py) at the privacy settings' three
  levels side by side: nothing looked for (`plain`), PII counted (`detect`, the default,
  `privacy.detect_pii`), every kind redacted (`redact`, `privacy.redact`);
- storing its content on top (store/sealing.py `stored_form`, in the writer thread): bodies packed,
  and with an encryption key configured packed and sealed (AES-256-GCM).

Run: `python -m bench.bench_pipeline [--quick]`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.pipeline.interpret import build_entry
from llmlog.proxy.privacy.detect import KINDS as PII_KINDS
from llmlog.proxy.privacy.redaction import PrivacyPolicy
from llmlog.store.keyring import Keyring
from llmlog.store.sealing import stored_form

from .samples import KINDS, captured

POLICIES = {"plain": PrivacyPolicy(detect=False), "detect": PrivacyPolicy(),
            "redact": PrivacyPolicy(redact=frozenset(PII_KINDS))}


def _timed_us(work: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - start) / calls * 1e6


def measure(quick: bool = False) -> dict:
    """{kind: `median_us`/`min_us`/`max_us` of the default policy, `<policy>_us` for each of POLICIES,
    `pack_us`, `pack_seal_us` and `seal_us` of storing the entry's content}. The variants are timed
    interleaved, round by round, so a noisy moment costs each alike."""
    prices = PriceTable.shipped()
    keyring = Keyring.of([os.urandom(32)])
    repeats, calls = (5, 200) if quick else (9, 1000)
    out = {}
    for kind in KINDS:
        call = captured(kind)
        entry = build_entry(call, prices, 1 << 20)  # warm: tiktoken encoding load, price lookup caches
        content = entry.content
        assert content is not None
        work: dict[str, Callable[[], object]] = {
            name: partial(build_entry, call, prices, 1 << 20, policy) for name, policy in POLICIES.items()}
        work["pack"] = partial(stored_form, content, None)
        work["pack_seal"] = partial(stored_form, content, keyring)
        timings: dict[str, list[float]] = {name: [] for name in work}
        for _ in range(repeats):
            for name, run in work.items():
                timings[name].append(_timed_us(run, calls))
        medians = {f"{name}_us": statistics.median(t) for name, t in timings.items()}
        out[kind] = {"median_us": medians["detect_us"], "min_us": min(timings["detect"]),
                     "max_us": max(timings["detect"]), "usage_source": entry.call["usage_source"],
                     "priced": bool(entry.call["priced"]), **medians,
                     "seal_us": medians["pack_seal_us"] - medians["pack_us"]}
    return out


if __name__ == "__main__":
    print(f"{'µs per call':14} {'plain':>8} {'detect':>8} {'redact':>8}   {'pack':>6} {'+seal':>6}")
    for kind, figures in measure("--quick" in sys.argv).items():
        print(f"{kind:14} {figures['plain_us']:8.1f} {figures['detect_us']:8.1f} {figures['redact_us']:8.1f}   "
              f"{figures['pack_us']:6.1f} {figures['seal_us']:6.1f}  "
              f"(usage {figures['usage_source']}, priced {figures['priced']})")
