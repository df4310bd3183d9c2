"""What the log keeps of a call's personal data: counts by kind, and the stored copies with chosen
kinds replaced by typed placeholders (`privacy.redact`); pure.

Values are found in text as a person reads it, never in the raw bytes of a JSON body: in
`{"content":"call me\\n4111 1111 1111 1111"}` the raw bytes put `n` right before the card number,
which hides it from a pattern that wants a word boundary, and a value sent as `\\u0040` escapes
would not be seen at all. So a JSON body is parsed, each string redacted as text, and written
back; a stream is redacted event by event, each `data:` payload the same way, and its chunk
timeline moved to the new byte offsets. Other bodies (multipart forms, plain text) are redacted as
text, their undecodable bytes kept as they were.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import orjson

from llmlog.proxy.privacy.detect import find_pii, pii_counts, redact

OffsetMap = Callable[[int], int]  # a byte offset in the body as captured -> the same place in the redacted body


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    """What the pipeline does with personal data in a call's stored text (the `[privacy]` settings)."""

    detect: bool = True  # count the kinds found into the entry's `pii` column
    redact: frozenset[str] = frozenset()  # kinds replaced by `[kind]` before anything is stored


def pii_json(texts: Iterable[str | None]) -> str | None:
    """`{"email": 2, "card": 1}` over all `texts` as JSON, or None when nothing was found."""
    total: dict[str, int] = {}
    for text in texts:
        if text:
            for kind, count in pii_counts(text).items():
                total[kind] = total.get(kind, 0) + count
    return orjson.dumps(total).decode() if total else None


def has_pii(text: str | None, kinds: frozenset[str]) -> bool:
    return bool(text) and bool(find_pii(text or "", kinds, limit=None))


def redact_text(text: str | None, kinds: frozenset[str]) -> str | None:
    return redact(text, kinds) if text else text


def redact_value(value: Any, kinds: frozenset[str]) -> Any:
    """A parsed JSON value with every string in it (object keys too) redacted."""
    if isinstance(value, str):
        return redact(value, kinds)
    if isinstance(value, list):
        return [redact_value(item, kinds) for item in value]
    if isinstance(value, dict):
        return {redact(key, kinds): redact_value(item, kinds) for key, item in value.items()}
    return value


def redact_json_text(text: str | None, kinds: frozenset[str]) -> str | None:
    """JSON text (headers, an assembled answer, tool calls) with its strings redacted; text that is
    not JSON is redacted as text."""
    if not text:
        return text
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return redact(text, kinds)
    redacted = redact_value(parsed, kinds)
    return text if redacted == parsed else orjson.dumps(redacted).decode()


def redact_query_values(query: str, kinds: frozenset[str]) -> str:
    """A query string with each parameter's decoded value redacted (`a%40b.com` is an address too)."""
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        plain = unquote(value.replace("+", " "))
        redacted = redact(plain, kinds)
        pairs.append(f"{name}{sep}{quote(redacted, safe='[]') if redacted != plain else value}")
    return "&".join(pairs)


def redact_body(body: bytes, kinds: frozenset[str], *, stream: bool) -> tuple[bytes, OffsetMap | None]:
    """The body with `kinds` redacted, and for a stream the map of its chunk ends (None: unchanged
    offsets, the body was not a stream or nothing in it changed)."""
    if not body:
        return body, None
    if stream:
        return _redact_stream(body, kinds)
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            redacted = redact_value(parsed, kinds)
            return (body if redacted == parsed else orjson.dumps(redacted)), None
    return _redact_raw(body, kinds), None


def _redact_raw(data: bytes, kinds: frozenset[str]) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    redacted = redact(text, kinds)
    return data if redacted is text else redacted.encode("utf-8", "surrogateescape")


def _redact_stream(body: bytes, kinds: frozenset[str]) -> tuple[bytes, OffsetMap | None]:
    """Each SSE line redacted on its own (a `data:` JSON payload parsed), with the offsets moved."""
    out: list[bytes] = []
    old_ends: list[int] = []  # where each changed line ends in the body as captured
    changed: list[tuple[int, int, int]] = []  # (old start, new start, new end) of each changed line
    old_at = new_at = 0
    for line in body.splitlines(keepends=True):
        redacted = _redact_line(line, kinds)
        if redacted is not line:
            old_ends.append(old_at + len(line))
            changed.append((old_at, new_at, new_at + len(redacted)))
        out.append(redacted)
        old_at += len(line)
        new_at += len(redacted)
    if not changed:
        return body, None

    def moved(offset: int) -> int:
        i = bisect.bisect_left(old_ends, offset)  # the first changed line that ends at or after offset
        if i < len(changed) and changed[i][0] < offset:  # inside that line: as far in, at most its end
            old_start, new_start, new_end = changed[i]
            return min(new_start + offset - old_start, new_end)
        if i == 0:
            return offset
        return offset - old_ends[i - 1] + changed[i - 1][2]  # past the changed line before it

    return b"".join(out), moved


def _redact_line(line: bytes, kinds: frozenset[str]) -> bytes:
    if line.startswith(b"data:"):
        content = line.rstrip(b"\r\n")
        ending = line[len(content):]
        payload = content[5:]
        lead = b" " if payload.startswith(b" ") else b""
        payload = payload[len(lead):]
        if payload[:1] in (b"{", b"["):
            try:
                parsed = orjson.loads(payload)
            except orjson.JSONDecodeError:
                pass
            else:
                redacted = redact_value(parsed, kinds)
                return line if redacted == parsed else b"data:" + lead + orjson.dumps(redacted) + ending
    return _redact_raw(line, kinds)
