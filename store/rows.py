"""The shape of one stored entry: its column lists and the `Entry` value the pipeline hands a store."""

from __future__ import annotations

from dataclasses import dataclass, field

CALL_COLUMNS: tuple[str, ...] = (
    "id", "started_at", "completed_at", "duration_ms", "ttfb_ms",
    "provider", "method", "path", "model", "response_model", "stream",
    "status", "status_code", "error", "finish_reason",
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "total_tokens", "usage_source",
    "priced", "cost_micros", "input_cost_micros", "cached_input_cost_micros",
    "cache_write_cost_micros", "output_cost_micros", "pricing_version",
    "user_id", "api_key_hash", "api_key_prefix", "tags", "environment", "task_type",
    "metadata", "feedback", "trace_id", "session_id", "parent_id", "root_id", "depth",
    "do_not_track", "has_content",
    "token_encoding",  # m007
    "cache_write_1h_tokens", "input_audio_tokens", "output_audio_tokens", "cost_buckets",  # m008
    "cost_nanos",  # m009
    "service_tier", "service_tier_priced",  # m010
)

CONTENT_COLUMNS: tuple[str, ...] = (
    "call_id", "request_query", "request_headers", "request_body", "request_truncated",
    "response_headers", "response_body", "response_truncated",
    "assembled", "events", "prompt_text", "output_text", "chunk_offsets",
    "body_encoding",  # m004: set only by the writer (store/bodies.py pack); entries carry bodies as sent
)

# positional: binding tuples is cheaper than looking ~45 names up in a dict per row (bench_writer);
# the inserts themselves are each backend's
def call_values(call: dict) -> tuple:
    """The call's values in CALL_COLUMNS order (a backend's writer inserts them)."""
    return tuple(map(call.get, CALL_COLUMNS))


def content_values(content: dict) -> tuple:
    """The content's values in CONTENT_COLUMNS order; a column the dict lacks (a spill written
    before it existed) is NULL."""
    return tuple(map(content.get, CONTENT_COLUMNS))


@dataclass(slots=True)
class Entry:
    """One call ready to store: `call` maps CALL_COLUMNS; `content` is None under do-not-track."""

    call: dict
    content: dict | None = None
    tags: list[str] = field(default_factory=list)

    def to_record(self) -> dict:
        """A JSON-able form for the spill file (bytes as latin-1 text, round-trips exactly)."""
        content = None
        if self.content is not None:
            content = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in self.content.items()}
            content["_bytes"] = [k for k, v in self.content.items() if isinstance(v, bytes)]
        return {"call": self.call, "content": content, "tags": self.tags}

    @classmethod
    def from_record(cls, record: dict) -> "Entry":
        content = record.get("content")
        if content is not None:
            binary = set(content.pop("_bytes", []))
            content = {k: (v.encode("latin-1") if k in binary and v is not None else v) for k, v in content.items()}
        return cls(call=record["call"], content=content, tags=list(record.get("tags") or []))
