"""One call in the OpenTelemetry GenAI semantic conventions' terms: pure functions, no SDK needed.

Only ids, labels, counts and times become attributes: no header, no key, no text. Content goes
into span events alone, and only where otel.capture_content asks for it (proxy/telemetry/otel.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from llmlog.proxy.forward.capture import CapturedCall
from llmlog.store.rows import CallRow

# the last words of a path -> the convention's gen_ai.operation.name (any other path: "other")
_OPERATIONS = (("/chat/completions", "chat"), ("/messages", "chat"), ("/responses", "chat"),
               ("/completions", "text_completion"), ("/embeddings", "embeddings"))
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
USAGE_ATTRIBUTES = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
                    "gen_ai.usage.cache_creation.input_tokens")


def operation_name(path: str | None) -> str:
    path = (path or "").rstrip("/")
    for ending, name in _OPERATIONS:
        if path.endswith(ending):
            return name
    return "other"


def span_name(row: CallRow) -> str:
    """"{gen_ai.operation.name} {gen_ai.request.model}", as the convention names an inference span."""
    operation = operation_name(row["path"])
    return f"{operation} {row['model']}" if row["model"] else operation


def error_type(row: CallRow) -> str | None:
    """A low-cardinality name of the failure (the HTTP status, or how the call ended); None on success."""
    if row["status"] == "success":
        return None
    code = row["status_code"]
    return str(code) if code is not None and code >= 400 else row["status"]


def server_address(base_url: str) -> tuple[str | None, int | None]:
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    return parts.hostname, port


def span_attributes(call: CapturedCall, row: CallRow) -> dict[str, Any]:
    """The span's attributes; None values are left out (OpenTelemetry refuses them)."""
    host, port = server_address(call.provider.base_url)
    cost = row["cost_nanos"] / 1e9 if row["cost_nanos"] is not None else (
        row["cost_micros"] / 1e6 if row["cost_micros"] is not None else None)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation_name(row["path"]),
        "gen_ai.provider.name": row["provider"],
        "gen_ai.request.model": row["model"],
        "gen_ai.response.model": row["response_model"],
        "gen_ai.usage.input_tokens": row["input_tokens"],
        "gen_ai.usage.output_tokens": row["output_tokens"],
        "gen_ai.usage.cache_read.input_tokens": row["cached_input_tokens"],
        "gen_ai.usage.cache_creation.input_tokens": row["cache_write_tokens"],
        "gen_ai.response.finish_reasons": [row["finish_reason"]] if row["finish_reason"] else None,
        "server.address": host,
        "server.port": port,
        "http.request.method": row["method"],
        "http.response.status_code": row["status_code"],
        "error.type": error_type(row),
        "llmlog.call_id": row["id"],
        "llmlog.status": row["status"],
        "llmlog.stream": bool(row["stream"]),
        "llmlog.usage_source": row["usage_source"],
        "llmlog.cost_usd": cost if row["priced"] else None,
    }
    if row["usage_source"] == "none":  # no usage known (an error answer): no counts rather than zeros
        for name in USAGE_ATTRIBUTES:
            del attributes[name]
    return {name: value for name, value in attributes.items() if value is not None}


def trace_headers(call: CapturedCall) -> dict[str, str]:
    """The caller's W3C trace context (`traceparent`, `tracestate`), read from the captured request:
    ids, never content, so read under do-not-track too."""
    return {name.lower(): value for name, value in call.request_headers if name.lower() in TRACE_HEADERS}
