"""Known entries written straight through the store's writer, for aggregate tests and benchmarks."""

from __future__ import annotations

import hashlib
import random

import orjson

from llmlog.proxy.ids import new_call_id
from llmlog.store.backends import open_store
from llmlog.store.rows import CALL_COLUMNS, Entry

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "mystery-model")
PROVIDERS = {"gpt-4o": "openai", "gpt-4o-mini": "openai", "claude-sonnet-4-5": "anthropic", "mystery-model": "local"}
TAGS = ("alpha", "beta", "gamma")


def call_row(started_at: int, **fields) -> dict:
    """A complete `calls` row with plain defaults; keyword fields override (cost in micro-dollars)."""
    row = dict.fromkeys(CALL_COLUMNS)
    row.update(id=new_call_id(started_at), started_at=started_at, method="POST", path="/v1/chat/completions",
               stream=0, status="success", status_code=200, usage_source="provider", priced=0, depth=0,
               do_not_track=0, has_content=0)
    row.update(fields)
    if row["completed_at"] is None and row["duration_ms"] is not None:
        row["completed_at"] = started_at + int(row["duration_ms"])
    if row["cost_micros"] is not None:
        row["priced"] = 1
    return row


def entry(started_at: int, tags: list[str] | None = None, **fields) -> Entry:
    tags = list(tags or [])
    return Entry(call=call_row(started_at, tags=orjson.dumps(tags).decode() if tags else None, **fields), tags=tags)


def random_entry(rng: random.Random, started_at: int) -> Entry:
    """A plausible entry: mostly successful, some errors, the odd unpriced model, a few tags, some feedback."""
    model = rng.choice(MODELS)
    status = rng.choices(("success", "error", "timeout", "client_closed"), (85, 8, 4, 3))[0]
    input_tokens, output_tokens = rng.randint(5, 4000), rng.randint(0, 1500)
    priced = model != "mystery-model"
    duration_ms, ttfb_ms = round(rng.uniform(50, 5000), 1), round(rng.uniform(10, 400), 1)
    key = rng.choice(("sk-one", "sk-two", None))
    return entry(
        started_at,
        tags=rng.sample(TAGS, rng.randint(0, 2)),
        model=model, provider=PROVIDERS[model], response_model=model,
        status=status, status_code={"success": 200, "error": 500, "timeout": 504, "client_closed": 499}[status],
        # no first byte on about a fifth of the calls (from the time, as below)
        duration_ms=duration_ms, ttfb_ms=ttfb_ms if started_at % 5 else None,
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens,
        cost_micros=(input_tokens * rng.randint(1, 5) + output_tokens * 10) if priced else None,
        user_id=rng.choice(("u1", "u2", "u3", None)),
        api_key_hash=hashlib.sha256(key.encode()).hexdigest() if key else None,
        api_key_prefix=key,
        environment=rng.choice(("prod", "dev", None)),
        task_type=rng.choice(("chat", "extraction", None)),
        # from the time, so the random sequence stays as it was: a label, thinking tokens, estimated counts
        flow=("triage", "answer", None)[started_at % 3],
        reasoning_tokens=output_tokens // 4 if started_at % 2 else None,
        usage_source=("provider", "provider", "estimated", "rough")[started_at % 4],
        # manual feedback on about a third of the calls: thumbs (1, 0) and other scores
        feedback=orjson.dumps({"score": rng.choice((1, 0, -1, 0.5)), "comment": None}).decode()
        if rng.random() < 0.35 else None,
    )


def seed(db_path: str, entries: list[Entry], batch: int = 5000) -> None:
    store = open_store(db_path)
    try:
        for start in range(0, len(entries), batch):
            store.write_or_split(entries[start:start + batch])
    finally:
        store.close()
