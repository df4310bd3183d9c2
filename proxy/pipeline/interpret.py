"""Turning a captured call into a stored entry: parse, usage, tokens, cost, redaction. Pure (no I/O)."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Final, Literal, TypeVar, cast
from urllib.parse import unquote, unquote_plus

import orjson

from llmlog.pricing.prices.cost import price_call
from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.types import NO_USAGE, UNPRICED, RequestInfo, ResponseInfo, Usage
from llmlog.pricing.usage.estimate import estimate_output, estimate_usage
from llmlog.pricing.usage.read import parse_request, parse_response
from llmlog.proxy.access.client_address import client_address
from llmlog.proxy.forward.capture import CapturedCall
from llmlog.proxy.forward.control import with_tags
from llmlog.proxy.headers import redact, redact_query
from llmlog.proxy.pipeline.prices import fill_cost_columns
from llmlog.proxy.pipeline.scrub import (
    api_key_of,
    key_prefix,
    request_credentials,
    scrub_bytes,
    scrub_error,
    scrub_text,
)
from llmlog.proxy.privacy.redaction import (
    BodyKind,
    PrivacyPolicy,
    anything_to_redact,
    has_pii,
    pii_json,
    redact_body,
    redact_form,
    redact_json_text,
    redact_text,
    redact_value,
    trimmed_at_cut,
)
from llmlog.proxy.query.measures import text_hash
from llmlog.proxy.query.stream_events import chunk_timeline
from llmlog.store.rows import CALL_COLUMNS, CallRow, ContentRow, Entry

__all__ = ["EntryBuilder", "api_key_of", "build_entry", "certain_columns", "fallback_entry", "heavy_call",
           "inflate"]


def _content_encoding(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-encoding":
            return value.strip().lower()
    return ""


# Bodies together past this size are built in a worker thread: parsing them and looking through their
# text for personal data takes milliseconds (some 150 ns a character), which one call must not hold the
# event loop for; in a thread the loop gets the GIL back every few milliseconds.
LARGE_CALL_BYTES = 256 * 1024


def heavy_call(call: CapturedCall) -> bool:
    """The request or the answer came compressed (inflating it for the log is bounded by `inflate` but
    not free) or is large: the pipeline builds such an entry in a worker thread, off the event loop."""
    return (len(call.request_body) + call.kept_bytes > LARGE_CALL_BYTES
            or _content_encoding(call.response_headers) in _INFLATERS
            or _content_encoding(call.request_headers) in _INFLATERS)


def inflate(body: bytes, encoding: str, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of `body` decoded, and whether it held more (or was cut short): the
    work and memory are bounded by `limit`, however far the body would inflate (a "zip bomb").
    A body that cannot be decoded from its first byte is kept as it came: (body, False)."""
    inflater = _INFLATERS.get(encoding)
    if inflater is None or not body:
        return body, False
    try:
        return inflater(body, limit)
    except Exception:  # not what its Content-Encoding says: keep the raw bytes
        return body, False


def _inflate_zlib(body: bytes, limit: int, wbits: int) -> tuple[bytes, bool]:
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(wbits)
        try:
            # one byte past the cap at most: that byte says there was more; the rest stays unread
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error:
            if not out:
                raise
            return bytes(out[:limit]), True  # corrupt further on: keep what decoded
        if len(out) > limit:
            return bytes(out[:limit]), True
        if not inflater.eof:
            return bytes(out), True  # the copy ends mid-stream (cut at the cap as captured)
        data = inflater.unused_data if inflater.unused_data.startswith(b"\x1f\x8b") else b""  # next gzip member
    return bytes(out), False


def _inflate_deflate(body: bytes, limit: int) -> tuple[bytes, bool]:
    """HTTP's "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2); some servers send it raw."""
    try:
        return _inflate_zlib(body, limit, zlib.MAX_WBITS)
    except zlib.error:
        return _inflate_zlib(body, limit, -zlib.MAX_WBITS)


def _inflate_brotli(body: bytes, limit: int) -> tuple[bytes, bool]:
    import brotli  # optional: only present if the user installed it
    inflater = brotli.Decompressor()
    # bounded output needs brotli >= 1.2 (`output_buffer_limit`); an older one raises TypeError here
    # and the body is kept compressed rather than inflated without bound
    out = inflater.process(body, output_buffer_limit=limit + 1)
    if len(out) > limit:
        return out[:limit], True
    return out, not inflater.is_finished()


_INFLATERS: dict[str, Callable[[bytes, int], tuple[bytes, bool]]] = {
    "gzip": lambda body, limit: _inflate_zlib(body, limit, 16 + zlib.MAX_WBITS),
    "x-gzip": lambda body, limit: _inflate_zlib(body, limit, 16 + zlib.MAX_WBITS),
    "deflate": _inflate_deflate,
    "br": _inflate_brotli,
}


def _encoding_and_type(headers: list[tuple[str, str]]) -> tuple[str, str]:
    """The answer's Content-Encoding (as `_content_encoding`) and Content-Type, the first of each,
    in one pass over its headers."""
    encoding = content_type = None
    for name, value in headers:
        low = name.lower()
        if low == "content-encoding":
            if encoding is None:
                encoding = value.strip().lower()
        elif low == "content-type" and content_type is None:
            content_type = value
    return encoding or "", content_type or ""


def _cut_short(call: CapturedCall, response: ResponseInfo) -> bool:
    """An Anthropic stream that ended (cut off, client hung up, upstream timed out) before
    `message_delta`, whose usage carries the real output count: `message_start` has only a
    placeholder output_tokens. (OpenAI-format usage arrives last, so when present it is whole.)"""
    if not response.events or call.provider.format != "anthropic":
        return False
    return not any(e.event == "message_delta" or '"message_delta"' in e.data for e in response.events)


def _usage_for(call: CapturedCall, model: str | None, request: RequestInfo, response: ResponseInfo) -> Usage:
    if response.usage is not None:
        if _cut_short(call, response) and response.usage.source == "provider":
            # the prompt counts already sent are exact; output is counted from what arrived
            return estimate_output(model or response.response_model, response.usage, response.output_text)
        return response.usage
    if call.status_code is not None and call.status_code >= 400:
        return NO_USAGE  # a refused call used nothing
    if not model:
        return NO_USAGE
    return estimate_usage(model, request, response.output_text)


_Text = TypeVar("_Text", str, str | None)


def clean_text(value: _Text) -> _Text:
    """Header values arrive as UTF-8 with surrogate escapes for invalid bytes (aiohttp); SQLite and
    orjson reject lone surrogates, so one odd header could fail a whole batch. Replace them.
    Only text that came from headers or the request line needs this: bodies are parsed by orjson
    and the SSE decoder, which never produce lone surrogates."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            try:  # the bytes as sent, each invalid one shown as U+FFFD
                return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            except UnicodeEncodeError:
                return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _stored_headers(headers: list[tuple[str, str]]) -> str:
    """Headers as the log keeps them: credentials redacted, as JSON. `clean_text` changes only text
    with lone surrogates, the one thing orjson refuses, so the headers are cleaned only then."""
    try:
        return orjson.dumps(redact(headers)).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps(redact([(clean_text(name), clean_text(value)) for name, value in headers])).decode()


def _metadata_json(metadata: dict) -> str:
    """The call's metadata as JSON. A peer's header (`Helicone-Property-<Name>`) is put in as sent,
    and a header value is bytes that need not be UTF-8: only then are the top-level values cleaned
    (what came from a JSON header was parsed, so it is valid text already)."""
    try:
        return orjson.dumps(metadata).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps({clean_text(k): clean_text(v) if isinstance(v, str) else v
                             for k, v in metadata.items()}).decode()


EntryBuilder = Callable[[CapturedCall, PriceTable, int, PrivacyPolicy], Entry]  # build_entry's signature
DEFAULT_PRIVACY: Final = PrivacyPolicy()


def build_entry(call: CapturedCall, prices: PriceTable, max_body_bytes: int,
                privacy: PrivacyPolicy = DEFAULT_PRIVACY) -> Entry:
    """Everything the store keeps about one call. Under do-not-track, `content` is None and no
    text that could quote the prompt or output (bodies, headers, provider error messages) is kept,
    nor counted for personal data. `privacy` says which kinds of personal data are counted and
    which are redacted from everything stored (proxy/privacy/redaction.py)."""
    # bodies travel as sent; the log keeps them readable, each inflated at most to the cap
    request_body, request_past_cap = inflate(call.request_body, _content_encoding(call.request_headers),
                                             max_body_bytes)
    request = parse_request(request_body)
    raw_response = call.chunks.joined()
    encoding, content_type = _encoding_and_type(call.response_headers)
    body, inflated_past_cap = inflate(raw_response, encoding, max_body_bytes)
    is_stream = "text/event-stream" in content_type.lower()
    chunks = list(call.chunks) if body is raw_response else [(call.ttfb_ms or 0.0, body)]
    response = parse_response(call.provider.format, call.path, body, stream=is_stream, chunks=chunks)

    model = request.model
    usage = _usage_for(call, model, request, response)
    cost = UNPRICED if usage.problem else price_call(prices, usage, call.provider.name,
                                                     response.response_model, model)

    ctx = call.context
    dnt = ctx.do_not_track
    error = call.error
    if error is None and call.status_code is not None and call.status_code >= 400:
        error = f"upstream returned HTTP {call.status_code}" if dnt else (
            response.error_message or f"upstream returned HTTP {call.status_code}")
    if usage.problem:  # says only which count was wrong and how: no content, so kept under do-not-track
        error = f"{error}; {usage.problem}" if error else usage.problem
    key, secrets = request_credentials(call.request_headers, call.query)
    row = certain_columns(call, secrets, key)
    # set one by one: a dict built for update() costs more than its thirty-odd assignments
    row["model"] = model
    row["response_model"] = response.response_model
    row["stream"] = int(is_stream or request.stream)
    row["error"] = scrub_error(error, secrets)
    row["finish_reason"] = response.finish_reason
    row["tool_call_count"] = len(response.tool_calls)  # a count, no content: kept under do-not-track
    if not usage.problem:  # unreadable usage: unknown (NULL), not 0
        _usage_columns(row, usage)
    row["usage_source"] = usage.source
    row["token_encoding"] = usage.encoding
    fill_cost_columns(row, cost)
    user_from_body = not row["user_id"] and request.user  # the body's `user` is content, redacted as such
    row["user_id"] = row["user_id"] or request.user
    row["metadata"] = _metadata_json(ctx.metadata) if ctx.metadata is not None else None
    row["has_content"] = int(not dnt)
    # the body's `metadata.tags` (LiteLLM's) are content: redacted like the rest of it
    body_tags = request.tags
    if privacy.redact and not dnt:
        body_tags = [redact_text(tag, privacy.redact) or tag for tag in body_tags]
    all_tags = with_tags(ctx.tags, body_tags)
    tags = [clean_text(t) for t in all_tags]
    if len(all_tags) != len(ctx.tags):  # the body's `metadata.tags` (LiteLLM's) added some
        row["tags"] = orjson.dumps(tags).decode()
    if dnt:
        return Entry(call=row, content=None, tags=tags)
    request_body, response_body = scrub_bytes(request_body, secrets), scrub_bytes(body, secrets)
    request_truncated = request_past_cap or len(request_body) > max_body_bytes
    response_truncated = call.response_truncated or inflated_past_cap or len(body) > max_body_bytes
    prompt_text, output_text = scrub_text(request.prompt_text, secrets), scrub_text(response.output_text, secrets)
    tool_calls = scrub_text(orjson.dumps(response.tool_calls).decode(), secrets) if response.tool_calls else None
    if privacy.detect:  # the output text holds the tool calls' arguments too (`tool_call_text`)
        row["pii"] = pii_json((prompt_text, output_text))
    timeline = chunk_timeline(chunks, len(response_body)) if response.events else None
    kinds = privacy.redact
    request_kind: BodyKind = "form" if _FORM in _encoding_and_type(call.request_headers)[1].lower() else "plain"
    if kinds and not anything_to_redact(
            kinds, (prompt_text, output_text, tool_calls, row["error"], unquote_plus(call.query), unquote(call.path),
                    row["user_id"] if user_from_body else None,
                    *(value for _, value in call.request_headers), *(value for _, value in call.response_headers)),
            (ctx.metadata, response.assembled),
            ((request_body, request_kind), (response_body, "stream" if is_stream else "plain")), max_body_bytes):
        kinds = frozenset()  # nothing of these kinds anywhere: no part needs reading again
    if kinds:
        request_body = redact_body(request_body, kinds, kind=request_kind, limit=max_body_bytes)[0]
        response_body, moved = redact_body(response_body, kinds, kind="stream" if is_stream else "plain",
                                           limit=max_body_bytes)
        if moved is not None and timeline is not None:
            timeline = [[offset, moved(int(end))] for offset, end in timeline]
        if is_stream and has_pii(output_text, kinds) and _split_values_left(call, response_body, kinds):
            response_body, timeline = b"", None  # kept as its assembled answer alone
        row["error"] = redact_text(row["error"], kinds)
        row["path"] = _redacted_path(row["path"], kinds)
        if user_from_body:
            row["user_id"] = redact_text(row["user_id"], kinds)
        if ctx.metadata is not None:
            row["metadata"] = _metadata_json(redact_value(ctx.metadata, kinds))
        prompt_text, output_text = redact_text(prompt_text, kinds), redact_text(output_text, kinds)
        tool_calls = redact_json_text(tool_calls, kinds)
    request_body, response_body = request_body[:max_body_bytes], response_body[:max_body_bytes]
    if privacy.redact:  # where a cut went through a value, what is left of it cannot be found: it goes
        request_body = trimmed_at_cut(request_body) if request_truncated else request_body
        response_body = trimmed_at_cut(response_body) if response_truncated else response_body
    if timeline is not None:
        timeline = [[offset, min(end, len(response_body))] for offset, end in timeline]
    assembled = None if response.assembled is None else scrub_text(orjson.dumps(response.assembled).decode(), secrets)
    content: ContentRow = {
        "call_id": call.id,
        "request_query": clean_text(redact_query(call.query)) or None,
        "request_headers": _stored_headers(call.request_headers),
        "request_body": request_body,
        "request_truncated": int(request_truncated),
        "response_headers": _stored_headers(call.response_headers),
        "response_body": response_body,
        "response_truncated": int(response_truncated),
        "assembled": assembled,
        # the events are the body parsed: kept as a chunk timeline to re-split it (proxy/query/stream_events.py)
        "events": None,
        "chunk_offsets": orjson.dumps(timeline).decode() if timeline is not None else None,
        "prompt_text": prompt_text,
        "output_text": output_text,
        "prompt_hash": None if prompt_text is None else text_hash(prompt_text),
        "prompt_chars": None if prompt_text is None else len(prompt_text),
        "output_chars": None if output_text is None else len(output_text),
        "message_count": len(request.messages) or None,  # None: a prompt-style request, or no body
        "tool_calls": tool_calls,
        "citations": scrub_text(orjson.dumps(response.citations).decode(), secrets) if response.citations else None,
    }
    if kinds:
        _redact_content(content, kinds)
    return Entry(call=row, content=content, tags=tags)


def _redact_content(content: ContentRow, kinds: frozenset[str]) -> None:
    """The JSON texts of the content (headers, answer, citations) and its query, redacted (the bodies
    and texts were redacted as they were built)."""
    for column in ("request_headers", "response_headers", "assembled", "citations"):
        content[column] = redact_json_text(content[column], kinds)
    if content["request_query"]:
        content["request_query"] = redact_form(content["request_query"], kinds)


_FORM = "application/x-www-form-urlencoded"


def _redacted_path(path: str | None, kinds: frozenset[str]) -> str | None:
    """The request path with `kinds` redacted as decoded (`/v1/files/a%40b.com`); as sent when none is in it."""
    if not path:
        return path
    plain = unquote(path)
    redacted = redact_text(plain, kinds)
    return path if redacted is plain else redacted


def _split_values_left(call: CapturedCall, body: bytes, kinds: frozenset[str]) -> bool:
    """A streamed answer redacted event by event still holds a value of `kinds` once its events are
    put together (a card number sent over two events): its raw events cannot be kept."""
    events = parse_response(call.provider.format, call.path, body, stream=True, chunks=[(0.0, body)])
    return has_pii(events.output_text, kinds)


def _usage_columns(row: CallRow, usage: Usage) -> None:
    row["input_tokens"] = usage.input_tokens
    row["cached_input_tokens"] = usage.cached_input_tokens
    row["cache_write_tokens"] = usage.cache_write_tokens
    row["output_tokens"] = usage.output_tokens
    row["reasoning_tokens"] = usage.reasoning_tokens
    row["total_tokens"] = usage.total_tokens
    row["cache_write_1h_tokens"] = usage.cache_write_1h_tokens
    row["input_audio_tokens"] = usage.input_audio_tokens
    row["output_audio_tokens"] = usage.output_audio_tokens
    row["service_tier"] = usage.service_tier


@lru_cache(maxsize=1024)  # a few keys make most calls: hashing each once is enough
def _key_hash(key: str | None) -> str | None:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest() if key else None


# Every column empty (NULL, or the schema's default): `certain_columns` copies it, far cheaper than a
# fifty-key dict literal per call. Built from the column list, so typed by a cast: `id`, `started_at`
# and `status` are NULL here, but `certain_columns` sets all three on every copy.
_EMPTY_ROW: Final = cast(CallRow, {**dict.fromkeys(CALL_COLUMNS), "stream": 0, "usage_source": "none", "priced": 0,
                                  "depth": 0, "do_not_track": 0, "has_content": 0})


def certain_columns(call: CapturedCall, secrets: tuple[str, ...] | None = None,
                    key: str | None = None) -> CallRow:
    """Every column, filled with what the capture itself knows (ids, outcome, timing, who);
    interpretation (model, usage, cost, content) is left empty for the caller to add.
    Text from headers or the request line is cleaned here (see `clean_text`). `secrets` and `key`
    are the request's credentials when the caller has them (`request_credentials`)."""
    if secrets is None:
        key, secrets = request_credentials(call.request_headers, call.query)
    ctx = call.context
    key = clean_text(key)
    row = _EMPTY_ROW.copy()
    row["id"] = call.id
    row["started_at"] = int(call.started_at_ms)
    row["completed_at"] = int(call.started_at_ms + (call.duration_ms or 0))
    row["duration_ms"] = round(call.duration_ms or 0.0, 3)
    row["ttfb_ms"] = None if call.ttfb_ms is None else round(call.ttfb_ms, 3)
    row["upstream_duration_ms"] = None if call.upstream_duration_ms is None else round(call.upstream_duration_ms, 3)
    row["provider"] = call.provider.name
    row["method"] = clean_text(call.method)
    row["path"] = clean_text(call.path)
    row["status"] = call.status
    row["status_code"] = call.status_code
    if call.error is not None:
        row["error"] = scrub_error(clean_text(call.error), secrets)
    if key:
        row["api_key_hash"] = _key_hash(key)
        row["api_key_prefix"] = key_prefix(key)
    if ctx.tags:
        row["tags"] = orjson.dumps([clean_text(t) for t in ctx.tags]).decode()
    for column in _CONTEXT_COLUMNS:  # what the client's llmlog headers said, mostly nothing
        if (value := getattr(ctx, column)) is not None:
            row[column] = clean_text(value)
    row["do_not_track"] = int(ctx.do_not_track)
    if not ctx.do_not_track:  # who sent it is personal data: kept with the content, not without it
        _client_columns(row, call)
    return row


def _client_columns(row: CallRow, call: CapturedCall) -> None:
    """The client's address (X-Forwarded-For believed from trusted proxies alone) and User-Agent."""
    forwarded: list[str] = []
    agent = None
    for name, value in call.request_headers:
        low = name.lower()
        if low == "x-forwarded-for":
            forwarded.append(value)
        elif low == "user-agent" and agent is None:
            agent = value
    row["request_ip"] = clean_text(client_address(call.peer, forwarded, call.trusted_proxies))
    row["user_agent"] = clean_text(agent)


_CONTEXT_COLUMNS: tuple[Literal["user_id", "environment", "task_type", "trace_id", "session_id", "parent_id",
                                 "flow", "customer_id", "agent_role"], ...] = (
    "user_id", "environment", "task_type", "trace_id", "session_id", "parent_id", "flow", "customer_id", "agent_role")


def fallback_entry(call: CapturedCall, reason: str) -> Entry:
    """When interpreting a call failed, still keep what is certain: ids, outcome, timing."""
    row = certain_columns(call)
    row["error"] = row["error"] or f"llmlog could not interpret this call: {reason}"
    return Entry(call=row, content=None, tags=[clean_text(t) for t in call.context.tags])
