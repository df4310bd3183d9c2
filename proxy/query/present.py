"""Shaping stored rows into the API's JSON: DESIGN §4 fields, plus the Perf layout's sections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import orjson

from llmlog.proxy.json_depth import too_deep_to_show
from llmlog.proxy.query.measures import parsed_json, text_hash
from llmlog.proxy.query.request_type import request_type
from llmlog.proxy.query.stream_events import stored_events
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.proxy.settings.table import Provider
from llmlog.store.rows import CallRow, ContentRow, Preview

PREVIEW_CHARS = 200
NO_NAMES: Mapping[str, str] = MappingProxyType({})


def _json(text: str | None):
    return None if text is None else orjson.loads(text)


def usd(micros: int | None) -> float | None:
    return None if micros is None else micros / 1_000_000


def usd_of_nanos(nanos: int | None) -> float | None:
    """USD from an exact nano-dollar figure (the stored cost, and every sum of it)."""
    return None if nanos is None else nanos / 1_000_000_000


def cost_usd_of(row) -> float | None:
    """A stored call's cost: its nano-dollars, or its micro-dollars when written without them."""
    if row["cost_nanos"] is not None:
        return usd_of_nanos(row["cost_nanos"])
    return usd(row["cost_micros"])


def micros_of_nanos(nanos: int) -> int:
    """Nano-dollars as whole micro-dollars, rounded half-up (the micro-dollar fields of the seeds)."""
    return (nanos + 500) // 1000


def _text_section(text: str | None) -> dict | None:
    """A whole text (the single entry): its length in characters and hash are of exactly this text."""
    if text is None:
        return None
    return {"text": text, "length": len(text), "hash": text_hash(text), "truncated": False}


def _preview_section(prefix: str | None, chars: int | None, digest: str | None) -> dict | None:
    """A list row's text: its first PREVIEW_CHARS characters (`prefix` holds one more, to tell a cut)
    with the length and hash of the whole text as stored with it (m013). A row written before those
    were stored has them only when the preview is the whole text."""
    if not prefix:
        return None
    truncated = len(prefix) > PREVIEW_CHARS
    if chars is None and not truncated:
        chars, digest = len(prefix), text_hash(prefix)
    return {"text": prefix[:PREVIEW_CHARS], "truncated": truncated, "length": chars, "hash": digest}


def _metadata(row: CallRow) -> dict:
    """The Perf document's `metadata` group: who made the call, and the client's own
    `x-llmlog-metadata` object as `custom`."""
    return {"user_id": row["user_id"], "session_id": row["session_id"], "api_key_hash": row["api_key_hash"],
            "request_ip": row.get("request_ip"), "user_agent": row.get("user_agent"),
            "custom": _json(row["metadata"])}


def key_name(names: Mapping[str, str], key_hash: str | None, key_prefix: str | None) -> str | None:
    """The configured name (`[api_key_names]`) of a call's provider key, by its hash, else its prefix."""
    if not names:
        return None
    return (names.get(key_hash) if key_hash else None) or (names.get(key_prefix) if key_prefix else None)


def proxy_path(providers: Iterable[Provider], provider: str | None, path: str | None) -> str | None:
    """The path a client sends to llmlog to reach the call's provider again: that provider's
    configured prefix before the stored upstream path (`/anthropic` + `/v1/messages`); None when no
    configured provider has the stored name any more."""
    if path is None:
        return None
    found = next((p for p in providers if p.name == provider), None)
    return None if found is None else found.prefix.rstrip("/") + path


def present_entry(row: CallRow, content: ContentRow | None = None, key_names: Mapping[str, str] = NO_NAMES,
                  providers: Iterable[Provider] | None = None) -> dict:
    """One entry. `content` (the whole entry view) adds bodies, headers and events; `key_names`
    (`[api_key_names]`) name the call's provider key; `providers` (the configured ones, for the
    whole entry) add `proxy_path`."""
    cost_usd = cost_usd_of(row)
    entry = {
        "id": row["id"],
        "call_id": row["id"],
        "timestamp": iso_ms(row["started_at"]),
        "started_at": iso_ms(row["started_at"]),
        "completed_at": iso_ms(row["completed_at"]),
        "duration_ms": row["duration_ms"],
        "ttfb_ms": row["ttfb_ms"],
        # the upstream's own part of duration_ms: request handed upstream to the answer's last byte
        "upstream_duration_ms": row["upstream_duration_ms"],
        "provider": row["provider"],
        "method": row["method"],
        "path": row["path"],
        "request_type": request_type(row["path"]),  # chat, embedding, image, … (Portkey's logs page)
        "model": row["model"],
        "response_model": row["response_model"],
        "stream": bool(row["stream"]),
        "status": row["status"],
        "status_code": row["status_code"],
        "error": row["error"],
        "finish_reason": row["finish_reason"],
        "input_tokens": row["input_tokens"],
        "cached_input_tokens": row["cached_input_tokens"],
        "cache_write_tokens": row["cache_write_tokens"],
        "output_tokens": row["output_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
        "cache_write_1h_tokens": row["cache_write_1h_tokens"],
        "input_audio_tokens": row["input_audio_tokens"],
        "output_audio_tokens": row["output_audio_tokens"],
        "total_tokens": row["total_tokens"],
        "usage_source": row["usage_source"],
        "token_encoding": row["token_encoding"],
        "priced": bool(row["priced"]),
        "cost_usd": cost_usd,
        "cost_micros": row["cost_micros"],
        "cost_nanos": row["cost_nanos"],
        "cost_breakdown": None if not row["priced"] else {
            "input_usd": usd(row["input_cost_micros"]),
            "cached_input_usd": usd(row["cached_input_cost_micros"]),
            "cache_write_usd": usd(row["cache_write_cost_micros"]),
            "output_usd": usd(row["output_cost_micros"]),
            # each bucket billed at its own rate: tokens, cost and the rate used
            "buckets": [{**b, "cost_usd": usd_of_nanos(b.get("cost_nanos"))} for b in _json(row["cost_buckets"]) or []],
        },
        "pricing_version": row["pricing_version"],
        # the tier that served the call; service_tier_priced: billed at its own rates (true) or, the
        # model having none for it, at the standard rates (false); null for the standard tier
        "service_tier": row["service_tier"],
        "service_tier_priced": None if row["service_tier_priced"] is None else bool(row["service_tier_priced"]),
        "user_id": row["user_id"],
        "api_key_hash": row["api_key_hash"],
        "api_key_prefix": row["api_key_prefix"],
        "api_key_name": key_name(key_names, row["api_key_hash"], row["api_key_prefix"]),
        "tags": _json(row["tags"]) or [],
        "environment": row["environment"],
        "task_type": row["task_type"],
        "request_ip": row.get("request_ip"),
        "user_agent": row.get("user_agent"),
        "flow": row["flow"],
        "customer_id": row["customer_id"],
        "agent_role": row["agent_role"],
        "tool_call_count": row["tool_call_count"],
        "metadata": _metadata(row),
        "feedback": _json(row["feedback"]),
        # personal data found in what the call said: {kind: count}, null when none (or not looked for)
        "pii": _json(row["pii"]),
        "trace_id": row["trace_id"],
        "session_id": row["session_id"],
        "parent_id": row["parent_id"],
        "root_id": row["root_id"],
        "depth": row["depth"],
        "do_not_track": bool(row["do_not_track"]),
        "has_content": bool(row["has_content"]),
        # the Perf logs document's grouping, for clients written against that layout
        "routing": {"model_selected": row["model"], "provider": row["provider"]},
        "execution": {
            "latency_ms": row["duration_ms"], "input_tokens": row["input_tokens"],
            "output_tokens": row["output_tokens"], "total_tokens": row["total_tokens"],
            "cost_usd": cost_usd, "started_at": iso_ms(row["started_at"]),
            "completed_at": iso_ms(row["completed_at"]),
        },
    }
    if providers is not None:
        entry["proxy_path"] = proxy_path(providers, row["provider"], row["path"])
    if content is not None:
        entry["prompt"] = _text_section(content.get("prompt_text"))
        if entry["prompt"] is not None:
            entry["prompt"]["message_count"] = content.get("message_count")
        entry["output"] = _text_section(content.get("output_text"))
        if entry["output"] is not None:
            entry["output"]["parsed_json"] = parsed_json(entry["output"]["text"])
        # the answer's tool calls and URL citations (pricing/usage/answer_parts.py); content, so
        # absent under do-not-track (tool_call_count stays)
        entry["tool_calls"] = _json(content.get("tool_calls")) or []
        entry["citations"] = _json(content.get("citations")) or []
        entry["request"] = {
            "query": content["request_query"],
            "headers": _json(content["request_headers"]),
            "body": body_value(content["request_body"]),
            "truncated": bool(content["request_truncated"]),
        }
        entry["response"] = {
            "headers": _json(content["response_headers"]),
            "body": body_value(content["response_body"]),
            "assembled": _json(content["assembled"]),
            "truncated": bool(content["response_truncated"]),
        }
        entry["events_count"] = len(stored_events(content["events"], content.get("chunk_offsets"),
                                                  content["response_body"]))
    return entry


def listed_entry(row: CallRow, preview: Preview | None, key_names: Mapping[str, str] = NO_NAMES) -> dict:
    """A list's entry: no content, but previews of its prompt and output (None for do-not-track
    calls, calls whose content retention dropped, and calls without that text)."""
    entry = present_entry(row, key_names=key_names)
    if preview is None:
        entry["prompt"] = entry["output"] = None
        return entry
    if "content_error" in preview:  # sealed content that cannot be decrypted: said for this entry alone
        entry["content_error"] = preview["content_error"]
    entry["prompt"] = _preview_section(preview["prompt_text"], preview["prompt_chars"], preview["prompt_hash"])
    if entry["prompt"] is not None:
        entry["prompt"]["message_count"] = preview["message_count"]
    output = entry["output"] = _preview_section(preview["output_text"], preview["output_chars"], None)
    if output is not None:
        del output["hash"]  # the document hashes prompts only; the whole entry has it
        # only a whole text parses: a cut one is null here, its parsed value in GET /v1/logs/{id}
        output["parsed_json"] = None if output["truncated"] else parsed_json(output["text"])
    return entry


def present_page(result, page, previews: dict[str, Preview] | None = None,
                 key_names: Mapping[str, str] = NO_NAMES) -> dict:
    """A list response (DESIGN §6) for a store LogPage and its rows' previews
    (`Store.previews(ids, PREVIEW_CHARS + 1)`); the API and `llmlog logs --json` share it."""
    previews = previews or {}
    return {
        "total": result.total if result.total_counted else None,  # null: include_total=false
        "limit": page.limit,
        "offset": page.offset,
        "logs": [listed_entry(row, previews.get(row["id"]), key_names) for row in result.rows],
        "pagination": {
            "has_more": result.has_more,
            "next_offset": result.next_offset,
            "next_cursor": result.next_cursor,
        },
    }


def body_value(raw: bytes | None):
    """JSON bodies come back as JSON; anything else, or JSON nested too deep to answer, as text."""
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")
    # nested too deep to be written back as JSON (a client's or a provider's choice): its text
    return raw.decode("utf-8", errors="replace") if too_deep_to_show(raw, value) else value


def present_events(events: list[list], types: set[str] | None) -> list[dict]:
    out = []
    for offset, event, data in events:
        if types and (event or "message") not in types:
            continue
        out.append({"offset_ms": offset, "event": event, "data": data})
    return out


def listed_with_previews(store, log_filter, page) -> tuple:
    """One page of calls and the previews of its rows that kept content: two reads on the caller's
    store thread, the second of prefixes of at most one page of prompts and outputs."""
    result = store.list_logs(log_filter, page)
    ids = [row["id"] for row in result.rows if row["has_content"]]
    return result, store.previews(ids, PREVIEW_CHARS + 1) if ids else {}
