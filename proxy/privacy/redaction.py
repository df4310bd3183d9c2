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
from typing import Any, Literal
from urllib.parse import quote, unquote_plus

import orjson

from llmlog.proxy.privacy.detect import find_pii, pii_counts, redact
from llmlog.proxy.privacy.json_text import Unescaped, read_text

BodyKind = Literal["plain", "stream", "form"]  # JSON or other text; server-sent events; form-urlencoded
OffsetMap = Callable[[int], int]  # a byte offset in the body as captured -> the same place in the redacted body
# Texts are looked through together, joined by a character no pattern takes for part of a value or
# its surroundings (not a word character, space, separator or `version` context): one scan of all
# of them costs far less than a scan each (a stream's events hold hundreds of short strings), and
# finds nothing only when none of them holds anything.
_JOIN = "\x00"
_CUT_MARGIN = 1024  # bytes past a body's cap read with it: a value across the cap is replaced, not cut in two


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    """What the pipeline does with personal data in a call's stored text (the `[privacy]` settings)."""

    detect: bool = True  # count the kinds found into the entry's `pii` column
    redact: frozenset[str] = frozenset()  # kinds replaced by `[kind]` before anything is stored


def pii_json(texts: Iterable[str | None]) -> str | None:
    """`{"email": 2, "card": 1}` over all `texts` as JSON, or None when nothing was found."""
    counts = pii_counts(_JOIN.join(text for text in texts if text))
    return orjson.dumps(counts).decode() if counts else None


def _holds(texts: Iterable[str], kinds: frozenset[str]) -> bool:
    """Whether any of `texts` holds a value of `kinds`: one scan of them all, each distinct text
    once (a stream repeats its id, model and keys in every event)."""
    return bool(find_pii(_JOIN.join(set(texts)), kinds, limit=None))


def _strings(value: Any, into: set[str] | None = None) -> set[str]:
    """The distinct strings of a parsed JSON value, object keys too."""
    into = set() if into is None else into
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                into.add(item)
            else:
                _strings(item, into)
    elif isinstance(value, dict):
        into.update(value)
        for item in value.values():
            if isinstance(item, str):
                into.add(item)
            elif isinstance(item, (list, dict)) or _long_number(item):
                _strings(item, into)
    elif _long_number(value):
        into.add(str(int(value)))
    return into


_LONG_NUMBER = 10 ** 5  # shorter numbers are no card, phone, SSN or IBAN


def _long_number(value: Any) -> bool:
    """A JSON number with the digits of a card or phone number: an integer, or a float that is one
    (`4.111111111111111e15`)."""
    kind = type(value)
    return (kind is int or (kind is float and value.is_integer())) and abs(value) >= _LONG_NUMBER


def has_pii(text: str | None, kinds: frozenset[str]) -> bool:
    return bool(text) and bool(find_pii(text or "", kinds, limit=None))


def anything_to_redact(kinds: frozenset[str], texts: Iterable[str | None], values: Iterable[Any],
                       bodies: Iterable[tuple[bytes, BodyKind]], limit: int) -> bool:
    """Whether a call holds any value of `kinds` in its `texts`, parsed JSON `values` or `bodies`
    ((body, its kind), each read to `limit` and a margin as redact_body reads it): one scan of
    all of it, where redacting part by part scans each part (a dozen scans for a small call)."""
    found: set[str] = {text for text in texts if text}
    for value in values:
        _strings(value, found)
    for body, kind in bodies:
        _body_texts(body, kind, limit, found)
    return _holds(found, kinds)


def _body_texts(body: bytes, kind: BodyKind, limit: int, into: set[str]) -> None:
    """The texts of a body as redact_body reads them, added to `into`."""
    if not body:
        return
    if len(body) > limit + _CUT_MARGIN:
        body = body[:limit + _CUT_MARGIN]
        if kind == "form":
            into.add(unquote_plus(body.decode("utf-8", "surrogateescape")))
        else:
            into.add(read_text(body))
    elif kind == "form":
        into.add(unquote_plus(body.decode("utf-8", "surrogateescape")))
    elif kind == "stream":
        for line in body.splitlines():
            value = _parsed_line(line)
            if value is _NOT_JSON:
                into.add(read_text(line))
            else:
                _strings(value, into)
    elif body.lstrip()[:1] in (b"{", b"["):
        try:
            _strings(orjson.loads(body), into)
        except orjson.JSONDecodeError:
            into.add(read_text(body))
    else:
        into.add(read_text(body))


def trimmed_at_cut(body: bytes) -> bytes:
    """A body cut short (at store.max_body_bytes), without its last words: a value the cut went through
    is no longer whole enough to be found (`4111 1111 1111 `), so what may be part of one goes. Cut
    back to the last JSON or line boundary among the last CUT_TRIM bytes, or by CUT_TRIM bytes."""
    window = body[-CUT_TRIM:]
    at = max(window.rfind(mark) for mark in _BOUNDARIES)
    return body[:len(body) - len(window) + at + 1] if at >= 0 else body[:-CUT_TRIM]


CUT_TRIM = 256  # longer than any value the detector finds but secrets and PEM blocks, which it finds cut short
_BOUNDARIES = (b'"', b",", b"\n", b"{", b"}", b"[", b"]")


def redact_text(text: str | None, kinds: frozenset[str]) -> str | None:
    return redact(text, kinds) if text else text


def redact_value(value: Any, kinds: frozenset[str]) -> Any:
    """A parsed JSON value with every string in it (object keys too) redacted, and every number long
    enough to be a card or phone number that is one (`4111111111111111` becomes `"[card]"`)."""
    if isinstance(value, str):
        return redact(value, kinds)
    if _long_number(value):
        text = str(int(value))
        redacted = redact(text, kinds)
        return value if redacted is text else redacted
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
    if not _holds(_strings(parsed), kinds):
        return text
    return orjson.dumps(redact_value(parsed, kinds)).decode()


def redact_form(query: str, kinds: frozenset[str]) -> str:
    """A query string or form body with each parameter's name and value redacted as decoded
    (`a%40b.com` is an address too, and `?a@b.com` a parameter without a value)."""
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        pairs.append(f"{_redact_encoded(name, kinds)}{sep}{_redact_encoded(value, kinds)}")
    return "&".join(pairs)


def _redact_encoded(encoded: str, kinds: frozenset[str]) -> str:
    plain = unquote_plus(encoded)
    redacted = redact(plain, kinds)
    return encoded if redacted is plain else quote(redacted, safe="[]")


def redact_body(body: bytes, kinds: frozenset[str], *, kind: BodyKind = "plain",
                limit: int | None = None) -> tuple[bytes, OffsetMap | None]:
    """The body with `kinds` redacted, and for a stream the map of its chunk ends (None: unchanged
    offsets, the body was not a stream or nothing in it changed). A body longer than `limit` (the store
    keeps no more) is cut a little past it first, so the work is bounded and a value across the
    cut is still found whole, then redacted as text; a stream cut short keeps its chunk offsets
    unmoved (its last events may then be re-cut a few bytes off where they arrived)."""
    if not body:
        return body, None
    if limit is not None and len(body) > limit + _CUT_MARGIN:  # the store keeps `limit` bytes: read those
        window = body[:limit + _CUT_MARGIN]
        if kind == "form":
            text = window.decode("utf-8", "surrogateescape")
            window = redact_form(text, kinds).encode("utf-8", "surrogateescape")
        else:
            window = _redact_raw(window, kinds)
        return trimmed_at_cut(window), None  # its end is a cut too
    if kind == "form":
        text = body.decode("utf-8", "surrogateescape")
        redacted = redact_form(text, kinds)
        return (body if redacted == text else redacted.encode("utf-8", "surrogateescape")), None
    if kind == "stream":
        return _redact_stream(body, kinds)
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            return (orjson.dumps(redact_value(parsed, kinds)) if _holds(_strings(parsed), kinds) else body), None
    return _redact_raw(body, kinds), None


def _redact_raw(data: bytes, kinds: frozenset[str]) -> bytes:
    """`data` redacted as text. Values are looked for in the text with its JSON escapes read
    (`\\n`, `\\u0040`), so a body that is JSON cut short (at store.max_body_bytes) is read as a
    person reads it, and each value found is replaced where it stands in `data`, escapes and all."""
    text = data.decode("utf-8", "surrogateescape")
    if "\\" not in text:
        redacted = redact(text, kinds)
        return data if redacted is text else redacted.encode("utf-8", "surrogateescape")
    unescaped = Unescaped(text)
    parts: list[str] = []
    at = 0
    for m in find_pii(unescaped.text, limit=None):  # every kind: overlaps settled as redact() settles them
        if m.kind in kinds:
            start, end = unescaped.raw_span(m.start, m.end)
            parts += [text[at:start], f"[{m.kind}]"]
            at = end
    return ("".join(parts) + text[at:]).encode("utf-8", "surrogateescape") if parts else data


def _redact_stream(body: bytes, kinds: frozenset[str]) -> tuple[bytes, OffsetMap | None]:
    """Each SSE line redacted on its own (a `data:` JSON payload parsed), with the offsets moved."""
    lines = body.splitlines(keepends=True)
    parsed = [_parsed_line(line) for line in lines]
    texts: set[str] = set()
    for line, value in zip(lines, parsed, strict=True):
        if value is _NOT_JSON:
            texts.add(line.decode("utf-8", "surrogateescape"))
        else:
            _strings(value, texts)
    if not _holds(texts, kinds):
        return body, None
    out: list[bytes] = []
    old_ends: list[int] = []  # where each changed line ends in the body as captured
    changed: list[tuple[int, int, int]] = []  # (old start, new start, new end) of each changed line
    old_at = new_at = 0
    for line, value in zip(lines, parsed, strict=True):
        redacted = _redact_line(line, value, kinds)
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


_NOT_JSON = object()  # a line that is not a `data:` line with a JSON payload


def _parsed_line(line: bytes) -> Any:
    """The JSON payload of a `data:` line, or _NOT_JSON."""
    if line.startswith(b"data:"):
        payload = line[5:].strip()
        if payload[:1] in (b"{", b"["):
            try:
                return orjson.loads(payload)
            except orjson.JSONDecodeError:
                pass
    return _NOT_JSON


def _redact_line(line: bytes, value: Any, kinds: frozenset[str]) -> bytes:
    if value is _NOT_JSON:
        return _redact_raw(line, kinds)
    if not _holds(_strings(value), kinds):
        return line
    content = line.rstrip(b"\r\n")
    lead = b" " if content[5:6] == b" " else b""
    return b"data:" + lead + orjson.dumps(redact_value(value, kinds)) + line[len(content):]
