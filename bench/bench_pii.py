"""The PII detector's precision and recall per kind over the labelled corpus, and its cost in µs per KB.

Run: `python -m bench.bench_pii [--repeat 200]`. The corpus is tests/privacy/corpus.toml (each case a
text and how many values of each kind it holds); tests/privacy/test_detect.py asserts floors on the
same figures. Values are counted, not cases: a case expecting two e-mails where one is found is one
true positive and one miss. The cost is measured on a typical prompt (a chat request's JSON: prose,
code, a log excerpt, a few values of each kind), best of several runs.
"""

from __future__ import annotations

import argparse
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import orjson

from llmlog.proxy.privacy.detect import KINDS, pii_counts

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "privacy" / "corpus.toml"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    expect: dict[str, int]


@dataclass(slots=True)
class Score:
    """Values found and expected for one kind."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    expected: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_corpus(path: Path = CORPUS) -> list[Case]:
    cases = tomllib.loads(path.read_text(encoding="utf-8"))["cases"]
    return [Case(c["text"], dict(c["expect"])) for c in cases]


def score(cases: list[Case]) -> dict[str, Score]:
    """Per kind: true positives, false positives and misses, counted in values."""
    scores = {kind: Score() for kind in KINDS}
    for case in cases:
        got = pii_counts(case.text)
        for kind, s in scores.items():
            want, have = case.expect.get(kind, 0), got.get(kind, 0)
            s.tp += min(want, have)
            s.fp += max(0, have - want)
            s.fn += max(0, want - have)
            s.expected += want
    return scores


def typical_prompt() -> str:
    """A chat request as the pipeline would scan it: ~6 KB of mixed content with a few values in it."""
    prose = ("Please review the following incident report and summarise the root cause in three bullet "
             "points. The customer wrote to us on Tuesday and again on Wednesday; the ticket was escalated "
             "after the second message. Keep the tone neutral and avoid speculation. ")
    code = ("def handler(event, context):\n    items = [normalise(x) for x in event['items'] if x]\n"
            "    total = sum(i.price * i.qty for i in items)\n    return {'status': 200, 'total': total}\n")
    log = ("2026-03-01T12:00:01Z INFO request id=8f14e45f path=/v1/orders status=200 took_ms=41\n"
           "2026-03-01T12:00:02Z WARN retry attempt=2 upstream=203.0.113.7:8080 after=250ms\n")
    values = ("Reporter: jane.roe@example.com, phone +1 415 555 0132. Refund to DE89 3704 0044 0532 0130 00; "
              "card on file 4111 1111 1111 1111. ")
    content = (prose * 8 + code * 4 + log * 6 + values) * 2
    return orjson.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are a careful support analyst."},
        {"role": "user", "content": content}]}).decode()


def cost_us_per_kb(text: str, repeat: int) -> float:
    """Best-of-5 µs per KB (1024 bytes of UTF-8) for pii_counts over `text`."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            pii_counts(text)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best * 1e6 / (len(text.encode()) / 1024)


def table(scores: dict[str, Score], cases: int) -> str:
    lines = [f"corpus: {cases} strings", "| kind | values | precision | recall |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {kind} | {s.expected} | {s.precision:.3f} | {s.recall:.3f} |" for kind, s in scores.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    cases = load_corpus()
    print(table(score(cases), len(cases)))
    prompt = typical_prompt()
    print(f"\ncost: {cost_us_per_kb(prompt, args.repeat):.1f} µs per KB "
          f"(pii_counts over a {len(prompt.encode()) / 1024:.1f} KB chat request)")


if __name__ == "__main__":
    main()
