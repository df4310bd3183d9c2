"""What an export writes: the fields a user may choose (named as in the API's entries) and the
encodings: JSONL, a JSON array, CSV and Parquet (proxy/query/export_parquet.py). Shared by
`GET /v1/logs/export`, export jobs and `llmlog export`, so all three write the same bytes for the
same rows. Each encoding streams: its bytes come out batch by batch, memory bounded by one batch.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from llmlog.proxy.query.export_parquet import INSTALL_HINT, ParquetEncoder
from llmlog.proxy.query.export_parquet import available as parquet_available
from llmlog.proxy.query.present import (
    body_value,  # JSON bodies as JSON, anything else as text
    cost_usd_of,
)
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.store.batches import EVERY_ROW, EXPORTABLE_CONTENT, RowWindow, iter_batches, position_of
from llmlog.store.filters import LogFilter
from llmlog.store.interface import Position, Store

FORMATS = ("jsonl", "json", "csv", "parquet")
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "json": "application/json", "csv": "text/csv; charset=utf-8",
               "parquet": "application/vnd.apache.parquet"}


class UnknownField(ValueError):
    def __init__(self, name: str):
        super().__init__(f"unknown export field {name!r}; known fields: {', '.join(FIELDS)}; and Portkey's: "
                         f"{', '.join([*ALIASES, *PORTKEY_FIELDS])}")
        self.name = name


def _col(name: str) -> Callable[[dict], object]:
    return lambda row: row[name]


def _flag(name: str) -> Callable[[dict], object]:
    return lambda row: bool(row[name])


def _time(name: str) -> Callable[[dict], object]:
    return lambda row: iso_ms(row[name])


def _json(name: str, empty=None) -> Callable[[dict], object]:
    return lambda row: orjson.loads(row[name]) if row[name] is not None else empty


# field -> value from a stored row; names and values are those of GET /v1/logs entries (present.py)
FIELDS: dict[str, Callable[[dict], object]] = {
    "id": _col("id"),
    "started_at": _time("started_at"),
    "completed_at": _time("completed_at"),
    "duration_ms": _col("duration_ms"),
    "ttfb_ms": _col("ttfb_ms"),
    "provider": _col("provider"),
    "method": _col("method"),
    "path": _col("path"),
    "model": _col("model"),
    "response_model": _col("response_model"),
    "stream": _flag("stream"),
    "status": _col("status"),
    "status_code": _col("status_code"),
    "error": _col("error"),
    "finish_reason": _col("finish_reason"),
    "input_tokens": _col("input_tokens"),
    "cached_input_tokens": _col("cached_input_tokens"),
    "cache_write_tokens": _col("cache_write_tokens"),
    "output_tokens": _col("output_tokens"),
    "reasoning_tokens": _col("reasoning_tokens"),
    "total_tokens": _col("total_tokens"),
    "usage_source": _col("usage_source"),
    "priced": _flag("priced"),
    "cost_usd": cost_usd_of,
    "cost_micros": _col("cost_micros"),
    "pricing_version": _col("pricing_version"),
    "user_id": _col("user_id"),
    "api_key_hash": _col("api_key_hash"),
    "api_key_prefix": _col("api_key_prefix"),
    "tags": _json("tags", []),
    "environment": _col("environment"),
    "task_type": _col("task_type"),
    "metadata": _json("metadata"),  # the client's x-llmlog-metadata (an entry's `metadata.custom`)
    "request_ip": _col("request_ip"),
    "user_agent": _col("user_agent"),
    "flow": _col("flow"),
    "customer_id": _col("customer_id"),
    "agent_role": _col("agent_role"),
    "tool_call_count": _col("tool_call_count"),
    "feedback": _json("feedback"),
    "pii": _json("pii"),  # {kind: count} of the personal data found in the call's text
    "trace_id": _col("trace_id"),
    "session_id": _col("session_id"),
    "parent_id": _col("parent_id"),
    "root_id": _col("root_id"),
    "depth": _col("depth"),
    "do_not_track": _flag("do_not_track"),
    "has_content": _flag("has_content"),
    # content: read from call_content only when one of these is chosen; null when not kept
    "prompt_text": _col("prompt_text"),
    "output_text": _col("output_text"),
    "request_body": lambda row: body_value(row["request_body"]),
    "response_body": lambda row: body_value(row["response_body"]),
    "request_headers": _json("request_headers"),
    "response_headers": _json("response_headers"),
    "tool_calls": _json("tool_calls", []),
    "citations": _json("citations", []),
}
CONTENT_FIELDS = frozenset(EXPORTABLE_CONTENT)
DEFAULT_FIELDS = (
    "id", "started_at", "completed_at", "duration_ms", "ttfb_ms", "provider", "model", "response_model",
    "stream", "status", "status_code", "error", "finish_reason", "input_tokens", "cached_input_tokens",
    "output_tokens", "reasoning_tokens", "total_tokens", "usage_source", "priced", "cost_usd", "user_id",
    "tags", "environment", "task_type", "metadata", "trace_id", "session_id", "parent_id", "root_id", "depth",
)
# Portkey's export field names (seeds/004), accepted as they are and written under that name
ALIASES = {"created_at": "started_at", "ai_model": "model", "ai_provider": "provider",
           "request_tokens": "input_tokens", "response_tokens": "output_tokens",
           "response_time": "duration_ms", "request": "request_body", "response": "response_body"}


def cost_cents(row: dict) -> float | None:
    """Portkey's `cost`: US cents, from the exact nano-dollars in one division (no float drift);
    null when the call has no price."""
    if row["cost_nanos"] is not None:
        return row["cost_nanos"] / 10_000_000
    return None if row["cost_micros"] is None else row["cost_micros"] / 10_000


# Portkey's export fields with no llmlog field of the same meaning: `cost` in cents, its currency,
# and Portkey's config and prompt ids, which llmlog has no notion of (always null)
PORTKEY_FIELDS: dict[str, Callable[[dict], object]] = {
    "cost": cost_cents,
    "cost_currency": lambda row: "USD",
    "config": lambda row: None,
    "prompt_slug": lambda row: None,
}


@dataclass(frozen=True, slots=True)
class FieldSet:
    names: tuple[str, ...]  # as written in the output, in order
    getters: tuple[Callable[[dict], object], ...]
    content: tuple[str, ...]  # content columns the rows must carry
    canonical: tuple[str, ...] = ()  # the field each name stands for (a Portkey alias's FIELDS name)

    def record(self, row: dict) -> dict:
        return {name: get(row) for name, get in zip(self.names, self.getters, strict=True)}

    def json_record(self, row: dict) -> dict:
        """`record`, and for a row whose encrypted content could not be opened (its content fields
        null) why, as `content_error`: JSON has room for it, CSV's columns do not."""
        record = self.record(row)
        if "content_error" in row:
            record["content_error"] = row["content_error"]
        return record


def resolve_fields(names: Sequence[str] | None) -> FieldSet:
    """The chosen fields (default DEFAULT_FIELDS, duplicates dropped); UnknownField names a bad one."""
    chosen = list(dict.fromkeys(n.strip() for n in names if n.strip())) if names else list(DEFAULT_FIELDS)
    if not chosen:
        chosen = list(DEFAULT_FIELDS)
    canonical, getters = [], []
    for name in chosen:
        real = ALIASES.get(name, name)
        getter = FIELDS.get(real) or PORTKEY_FIELDS.get(real)
        if getter is None:
            raise UnknownField(name)
        canonical.append(real)
        getters.append(getter)
    content = tuple(dict.fromkeys(c for c in canonical if c in CONTENT_FIELDS))
    return FieldSet(tuple(chosen), tuple(getters), content, tuple(canonical))


def jsonl_line(record: dict) -> bytes:
    return orjson.dumps(record) + b"\n"


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection)
FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


def csv_cell(value) -> str:
    """CSV has only text: null is empty, booleans are true/false, lists and objects are JSON.

    Text starting like a formula gets a leading `'` (OWASP's convention), so opening an export in a
    spreadsheet never runs what a caller put in a prompt, model name or label. Numbers come from
    numeric columns and stay numbers, negative ones included."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        return "'" + value if value[:1] in FORMULA_STARTS else value
    return str(value)


def csv_line(values: Iterable[object]) -> bytes:
    """One RFC 4180 record (quoted where needed, CRLF-terminated)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(v) for v in values])
    return buffer.getvalue().encode()


class Encoder(Protocol):
    """One export's encoding: start(), then rows(batch) for each batch, then end(); failed(message)
    instead of end() when the export breaks after bytes went out. Each returns the bytes to write."""

    def start(self) -> bytes: ...
    def rows(self, rows: Sequence[dict]) -> bytes: ...
    def end(self) -> bytes: ...
    def failed(self, message: str) -> bytes: ...


def _error_record(message: str) -> dict:
    return {"error": {"message": message, "type": "export_error"}}


class JsonlEncoder:
    def __init__(self, fields: FieldSet):
        self.fields = fields

    def start(self) -> bytes:
        return b""

    def rows(self, rows: Sequence[dict]) -> bytes:
        return b"".join(jsonl_line(self.fields.json_record(row)) for row in rows)

    def end(self) -> bytes:
        return b""

    def failed(self, message: str) -> bytes:
        """A last line `{"error": {"message", "type"}}`, so a reader tells it from a complete file."""
        return jsonl_line(_error_record(message))


class JsonArrayEncoder:
    """One JSON array, a record per line: `[`, the records separated by commas, `]`."""

    def __init__(self, fields: FieldSet):
        self.fields = fields
        self.empty = True

    def start(self) -> bytes:
        return b"["

    def _item(self, value: dict) -> bytes:
        lead, self.empty = (b"\n" if self.empty else b",\n"), False
        return lead + orjson.dumps(value)

    def rows(self, rows: Sequence[dict]) -> bytes:
        return b"".join(self._item(self.fields.json_record(row)) for row in rows)

    def end(self) -> bytes:
        return b"\n]\n"

    def failed(self, message: str) -> bytes:
        """The array still closes; its last element is `{"error": {"message", "type"}}`."""
        return self._item(_error_record(message)) + self.end()


class CsvEncoder:
    def __init__(self, fields: FieldSet):
        self.fields = fields

    def start(self) -> bytes:
        return csv_line(self.fields.names)

    def rows(self, rows: Sequence[dict]) -> bytes:
        return b"".join(csv_line(self.fields.record(row).values()) for row in rows)

    def end(self) -> bytes:
        return b""

    def failed(self, message: str) -> bytes:
        """A line `# error: <message>` (one line: the message's line breaks become spaces)."""
        return ("# error: " + " ".join(message.split()) + "\r\n").encode()


def encoder(fields: FieldSet, fmt: str) -> Encoder:
    """A fresh encoder of `fmt` (one of FORMATS) for one export. Parquet without pyarrow installed
    raises ParquetUnavailable, whose message says how to install it."""
    if fmt == "parquet":
        return ParquetEncoder(fields)
    if fmt == "json":
        return JsonArrayEncoder(fields)
    return CsvEncoder(fields) if fmt == "csv" else JsonlEncoder(fields)


def format_problem(fmt: str) -> str | None:
    """Why `fmt` cannot be exported here, in words, or None when it can."""
    if fmt not in FORMATS:
        return f"must be one of {', '.join(FORMATS)}, got {fmt!r}"
    if fmt == "parquet" and not parquet_available():
        return INSTALL_HINT
    return None


def encoded_batch(store: Store, f: LogFilter, after: Position | None, fields: FieldSet,
                  out: Encoder) -> tuple[bytes, Position | None, int]:
    """One batch, encoded: (bytes, position to resume after, rows). A store function for the reader
    thread, so the event loop only writes bytes."""
    rows = store.export_batch(f, after, content=fields.content)
    return out.rows(rows), (position_of(rows[-1]) if rows else after), len(rows)


def encoded_chunks(store: Store, f: LogFilter, fields: FieldSet, fmt: str,
                   window: RowWindow = EVERY_ROW) -> Iterator[tuple[bytes, int]]:
    """The whole export (the rows in `window`) as (bytes, rows in them) chunks, start first and end last."""
    out = encoder(fields, fmt)
    yield out.start(), 0
    for batch in iter_batches(store, f, content=fields.content, window=window):
        yield out.rows(batch), len(batch)
    yield out.end(), 0


class ExportStopped(Exception):
    """The export was asked to stop (server shutdown) before it finished."""


class Writable(Protocol):
    """Where an export is written: a binary file, or one that encrypts it (store/sealing.py SealedWriter)."""

    def write(self, data: bytes, /) -> int: ...


def write_export(store: Store, f: LogFilter, fields: FieldSet, fmt: str, out: Writable, *,
                 stop: threading.Event | None = None, progress: Callable[[int], None] | None = None,
                 window: RowWindow = EVERY_ROW) -> int:
    """Write the whole export (the rows in `window`) to `out`, batch by batch; returns the rows written."""
    rows = 0
    for chunk, count in encoded_chunks(store, f, fields, fmt, window):
        if stop is not None and stop.is_set():
            raise ExportStopped("interrupted by shutdown")
        out.write(chunk)
        rows += count
        if progress is not None and count:
            progress(count)
    return rows
