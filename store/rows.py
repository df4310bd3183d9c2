"""The shape of one stored entry: its typed rows, the column lists derived from them, and the
`Entry` value the pipeline hands a store.

`CallRow` and `ContentRow` are the one source of the columns: `CALL_COLUMNS` and
`CONTENT_COLUMNS` are their keys in order (the order of the schema's columns, later migrations
last), so a column added to a row type is inserted, copied, selected and spilled everywhere.
Units: times in UTC epoch ms, durations in ms, tokens in tokens, costs in micro- and
nano-dollars; JSON columns hold their JSON text; flags are 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict, cast

Row = dict[str, Any]  # a row of some columns (a page, a node, an export batch, a job), keyed by column name


class CallRow(TypedDict):
    """One `calls` row: what the capture knows, what the pipeline read from the answer, and the
    cost. `root_id` and `depth` are filled at write time (store/hierarchy.py)."""

    id: str
    started_at: int
    completed_at: int | None
    duration_ms: float | None
    ttfb_ms: float | None
    provider: str | None
    method: str | None
    path: str | None
    model: str | None
    response_model: str | None
    stream: int
    status: str  # success | error | timeout | client_closed
    status_code: int | None
    error: str | None
    finish_reason: str | None
    input_tokens: int | None
    cached_input_tokens: int | None
    cache_write_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    total_tokens: int | None
    usage_source: str  # provider | estimated | rough | none
    priced: int
    cost_micros: int | None  # NULL when the call has no price
    input_cost_micros: int | None
    cached_input_cost_micros: int | None
    cache_write_cost_micros: int | None
    output_cost_micros: int | None
    pricing_version: str | None
    user_id: str | None
    api_key_hash: str | None
    api_key_prefix: str | None
    tags: str | None  # JSON array
    environment: str | None
    task_type: str | None
    metadata: str | None  # JSON object
    feedback: str | None  # JSON object
    trace_id: str | None
    session_id: str | None
    parent_id: str | None
    root_id: str | None
    depth: int
    do_not_track: int
    has_content: int
    token_encoding: str | None  # m007
    cache_write_1h_tokens: int | None  # m008
    input_audio_tokens: int | None  # m008
    output_audio_tokens: int | None  # m008
    cost_buckets: str | None  # m008: JSON [{bucket, tokens, cost_micros, cost_nanos, usd_per_million}]
    cost_nanos: int | None  # m009
    service_tier: str | None  # m010
    service_tier_priced: int | None  # m010
    request_ip: str | None  # m013: the client's address (X-Forwarded-For only from server.trusted_proxies)
    user_agent: str | None  # m013: the client's User-Agent; both NULL under do-not-track
    upstream_duration_ms: float | None  # m015: request handed upstream to the answer's last byte read
    flow: str | None  # m017: PromptShuttle's labels (x-llmlog-flow, -customer, -agent-role)
    customer_id: str | None  # m017
    agent_role: str | None  # m017
    tool_call_count: int | None  # m017: tool/function calls in the answer; a metric, kept under do-not-track
    pii: str | None  # m020: JSON {kind: count} of the personal data found in the stored text; NULL when none


class ContentRow(TypedDict):
    """One `call_content` row: what the call said, kept unless do-not-track. Bodies travel as sent;
    `body_encoding` (m004) is set only by the writer (store/bodies.py `pack`), so an entry the
    pipeline built has none, and a row read back has it only until `unpack_row` drops it."""

    call_id: str
    request_query: str | None  # credential parameters redacted
    request_headers: str | None  # JSON [[name, value]], secrets redacted
    request_body: bytes | None
    request_truncated: int
    response_headers: str | None
    response_body: bytes | None  # for streams: the raw SSE bytes
    response_truncated: int
    assembled: str | None  # for streams: the message assembled from the events, JSON
    events: str | None  # rows before m003: JSON [[offset_ms, event, data]]
    prompt_text: str | None
    output_text: str | None
    chunk_offsets: str | None  # m003: JSON [[arrival_offset_ms, end_byte]] (proxy/query/stream_events.py)
    body_encoding: NotRequired[str | None]  # m004
    # m014: measures of the whole texts, so a list's previews carry them without reading the texts
    prompt_hash: str | None  # the first 12 hex digits of the SHA-256 of prompt_text (UTF-8)
    prompt_chars: int | None  # characters (code points) of prompt_text
    output_chars: int | None  # characters of output_text
    message_count: int | None  # messages of a chat-style request (system or instructions one of them)
    tool_calls: str | None  # m017: JSON [{id, type, name, arguments}] of the answer
    citations: str | None  # m017: JSON [{url, title, start_index, end_index}] of the answer
    # m021 (PostgreSQL m009): the id of the key that sealed the content columns (store/sealing.py);
    # NULL = stored in clear. Set only by the writer and the spill file, dropped again by `unseal`.
    key_id: NotRequired[str | None]


class Preview(TypedDict):
    """What a list shows of a call's content (`Store.previews`): the first characters of its prompt
    and output, and the m014 measures of the whole texts (NULL for rows written before m014)."""

    prompt_text: str | None  # a prefix
    output_text: str | None  # a prefix
    prompt_hash: str | None
    prompt_chars: int | None
    output_chars: int | None
    message_count: int | None
    content_error: NotRequired[str]  # the content cannot be opened (store/sealing.py): why


PREVIEW_MEASURES = ("prompt_hash", "prompt_chars", "output_chars", "message_count")


class CostColumns(TypedDict):
    """A call's stored cost columns (DESIGN §4), as `proxy.pipeline.prices.cost_columns` fills them
    from pricing's Cost: micro-dollars per column, the exact total in nano-dollars, flags as 0 or 1.
    CallRow holds the same columns."""

    priced: int
    cost_micros: int | None
    input_cost_micros: int | None
    cached_input_cost_micros: int | None
    cache_write_cost_micros: int | None
    output_cost_micros: int | None
    pricing_version: str | None
    cost_buckets: str | None
    cost_nanos: int | None
    service_tier_priced: int | None


class UsageColumns(TypedDict):
    """What `llmlog reprice` reads of a stored call and hands the price function (`PriceFn`),
    which answers with the call's new CostColumns; both are CallRow's columns."""

    id: str
    provider: str | None
    model: str | None
    response_model: str | None
    input_tokens: int | None
    cached_input_tokens: int | None
    cache_write_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    cache_write_1h_tokens: int | None
    input_audio_tokens: int | None
    output_audio_tokens: int | None
    service_tier: str | None


class CallNode(TypedDict):
    """A call as a node of its tree (`Store.hierarchy`): enough to draw it without the whole row."""

    id: str
    parent_id: str | None
    root_id: str | None
    depth: int
    started_at: int
    model: str | None
    status: str
    duration_ms: float | None
    total_tokens: int | None
    cost_micros: int | None
    cost_nanos: int | None


# the content columns that hold what was said: sealed when encryption is on (store/sealing.py); the
# rest of ContentRow (ids, flags, measures, the stream's chunk timeline) stays clear
SEALED_BYTES = ("request_body", "response_body")
SEALED_TEXT = ("request_query", "request_headers", "response_headers", "assembled", "events", "prompt_text",
               "output_text", "tool_calls", "citations")
SEALED_COLUMNS = SEALED_BYTES + SEALED_TEXT

CALL_COLUMNS: tuple[str, ...] = tuple(CallRow.__annotations__)
CONTENT_COLUMNS: tuple[str, ...] = tuple(ContentRow.__annotations__)
USAGE_COLUMNS: tuple[str, ...] = tuple(UsageColumns.__annotations__)
NODE_COLUMNS: tuple[str, ...] = tuple(CallNode.__annotations__)
COST_COLUMNS: tuple[str, ...] = tuple(CostColumns.__annotations__)


# The trust boundary: a backend reads its rows back by these column lists, and its schema holds
# what the row types say, so a row read whole is typed by a cast here rather than checked per value.
def as_call(row: Row) -> CallRow:
    """A row read with every column of CALL_COLUMNS, typed."""
    return cast(CallRow, row)


def as_content(row: Row) -> ContentRow:
    """A row read with every column of CONTENT_COLUMNS, typed."""
    return cast(ContentRow, row)


def as_node(row: Row) -> CallNode:
    """A row read with the columns of NODE_COLUMNS, typed."""
    return cast(CallNode, row)


def as_preview(values: Sequence[Any]) -> Preview:
    """A preview from its values in Preview's order (prefixes, then PREVIEW_MEASURES)."""
    prompt, output, prompt_hash, prompt_chars, output_chars, message_count = values
    return {"prompt_text": prompt, "output_text": output, "prompt_hash": prompt_hash,
            "prompt_chars": prompt_chars, "output_chars": output_chars, "message_count": message_count}


def as_usage(row: Row) -> UsageColumns:
    """A row read with the columns of USAGE_COLUMNS, typed."""
    return cast(UsageColumns, row)


# positional: binding tuples is cheaper than looking ~45 names up in a dict per row (bench_writer);
# the inserts themselves are each backend's
def call_values(call: CallRow) -> tuple[object, ...]:
    """The call's values in CALL_COLUMNS order (a backend's writer inserts them); a column the
    row lacks (a spill written before it existed) is NULL."""
    return tuple(map(call.get, CALL_COLUMNS))


def content_values(content: ContentRow) -> tuple[object, ...]:
    """The content's values in CONTENT_COLUMNS order; a column the row lacks (a spill written
    before it existed, `body_encoding` of content not packed) is NULL."""
    return tuple(map(content.get, CONTENT_COLUMNS))


@dataclass(slots=True)
class Entry:
    """One call ready to store; `content` is None under do-not-track."""

    call: CallRow
    content: ContentRow | None = None
    tags: list[str] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        """A JSON-able form for the spill file (bytes as latin-1 text, round-trips exactly)."""
        content: dict[str, Any] | None = None
        if self.content is not None:
            items = self.content.items()
            content = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in items}
            content["_bytes"] = [k for k, v in items if isinstance(v, bytes)]
        return {"call": self.call, "content": content, "tags": self.tags}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Entry:
        """The entry a spill record holds. Records are taken as written (a missing key raises
        KeyError, a record of another shape TypeError or AttributeError: the caller skips it); one
        written before a column existed lacks that column, which the writers store as NULL."""
        content = record.get("content")
        if content is not None:
            binary = set(content.pop("_bytes", []))
            content = {k: (v.encode("latin-1") if k in binary and v is not None else v) for k, v in content.items()}
        return cls(call=as_call(record["call"]), content=None if content is None else as_content(content),
                   tags=list(record.get("tags") or []))
