"""Parse + price timing, off the request path: median µs per `proxy.pipeline.interpret.build_entry` call,
for each sample call, with the privacy settings' three levels side by side: nothing looked for,
PII counted (the default, `privacy.detect_pii`), and every kind redacted (`privacy.redact`).

Run: `python -m bench.bench_pipeline [--quick]`.
"""

from __future__ import annotations

import statistics
import sys
import time

from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.pipeline.interpret import build_entry
from llmlog.proxy.privacy.detect import KINDS as PII_KINDS
from llmlog.proxy.privacy.redaction import PrivacyPolicy

from .samples import KINDS, captured

POLICIES = {"plain": PrivacyPolicy(detect=False), "detect": PrivacyPolicy(),
            "redact": PrivacyPolicy(redact=frozenset(PII_KINDS))}


def measure(quick: bool = False) -> dict:
    """{kind: figures of the default policy, plus `<policy>_us` medians for each of POLICIES}."""
    prices = PriceTable.shipped()
    repeats, calls = (5, 200) if quick else (9, 1000)
    out = {}
    for kind in KINDS:
        call = captured(kind)
        timings: dict[str, list[float]] = {name: [] for name in POLICIES}
        for policy in POLICIES.values():
            build_entry(call, prices, 1 << 20, policy)  # warm: tiktoken encoding load, price lookup caches
        for _ in range(repeats):  # the policies interleaved, so a noisy moment costs each alike
            for name, policy in POLICIES.items():
                start = time.perf_counter()
                for _ in range(calls):
                    build_entry(call, prices, 1 << 20, policy)
                timings[name].append((time.perf_counter() - start) / calls * 1e6)
        per_call = timings["detect"]
        entry = build_entry(call, prices, 1 << 20)
        out[kind] = {"median_us": statistics.median(per_call), "min_us": min(per_call), "max_us": max(per_call),
                     "usage_source": entry.call["usage_source"], "priced": bool(entry.call["priced"]),
                     **{f"{name}_us": statistics.median(t) for name, t in timings.items()}}
    return out


if __name__ == "__main__":
    print(f"{'':14} {'plain':>8} {'detect':>8} {'redact':>8}  µs/call (median)")
    for kind, figures in measure("--quick" in sys.argv).items():
        print(f"{kind:14} {figures['plain_us']:8.1f} {figures['detect_us']:8.1f} {figures['redact_us']:8.1f}  "
              f"(usage {figures['usage_source']}, priced {figures['priced']})")
