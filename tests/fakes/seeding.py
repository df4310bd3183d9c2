"""Known entries written straight to a store (through its interface), for tests that assert exact ids and figures."""

from __future__ import annotations

import orjson

from llmlog.proxy.ids import new_call_id
from llmlog.proxy.query.measures import text_hash
from llmlog.store.backends import open_store
from llmlog.store.keyring import Keyring
from llmlog.store.rows import CALL_COLUMNS, Entry


def make_entry(started_at: int, *, prompt: str | None = "hello", output: str | None = "world",
               tags: tuple[str, ...] = (), events: list | None = None, **fields) -> Entry:
    """A complete entry; `fields` override call columns. `prompt=None` makes it content-free."""
    call = {column: None for column in CALL_COLUMNS}
    call.update({
        "id": new_call_id(started_at), "started_at": started_at, "completed_at": started_at + 100,
        "duration_ms": 100.0, "ttfb_ms": 10.0, "provider": "openai", "method": "POST",
        "path": "/v1/chat/completions", "model": "gpt-4o-mini", "stream": 0, "status": "success",
        "status_code": 200, "input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
        "usage_source": "provider", "priced": 1, "cost_micros": 100, "depth": 0, "do_not_track": 0,
        "has_content": 1, "tags": orjson.dumps(list(tags)).decode() if tags else None,
    })
    call.update(fields)
    content = None
    if prompt is not None and not call["do_not_track"]:
        content = {"call_id": call["id"], "request_query": None, "request_headers": "[]",
                   "request_body": orjson.dumps({"messages": [{"role": "user", "content": prompt}]}),
                   "request_truncated": 0, "response_headers": "[]", "response_body": b"{}",
                   "response_truncated": 0, "assembled": None,
                   "events": orjson.dumps(events).decode() if events else None,
                   "prompt_text": prompt, "output_text": output,
                   # the measures the pipeline stores with the texts (proxy/pipeline/interpret.py)
                   "prompt_hash": text_hash(prompt), "prompt_chars": len(prompt),
                   "output_chars": None if output is None else len(output), "message_count": 1}
    else:
        call["has_content"] = 0
    return Entry(call=call, content=content, tags=list(tags))


def seed(db_path: str, entries: list[Entry], keyring: Keyring | None = None) -> list[str]:
    """Write entries (oldest first, as the pipeline would), their content sealed with `keyring` when
    one is given; returns their ids in that order."""
    store = open_store(db_path, keyring=keyring)
    try:
        written, refused = store.write_or_split(sorted(entries, key=lambda e: e.call["id"]))
        assert not refused, refused
    finally:
        store.close()
    return [e.call["id"] for e in entries]
