"""How call bodies are stored: zlib-compressed when large enough to matter (issue #7).

The bytes written per row dominate the writer's cost: a streamed call's raw SSE body is ~16 KB for
64 events and shrinks to ~0.5 KB at zlib level 1 in ~13 µs. `call_content.body_encoding` (m004)
says how a row's `request_body` and `response_body` are stored: NULL = as sent (rows before m004,
and small bodies, where compressing gains nothing), 'zlib' = each body zlib-compressed (a NULL
body stays NULL). Packing runs in the writer thread; zlib releases the GIL while it compresses,
so on a multi-core machine it runs beside the event loop. Every reader unpacks through `unpack`.
Pure functions, no I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from .rows import CONTENT_COLUMNS, SEALED_COLUMNS, ContentRow, Row

ZLIB = "zlib"
BODY_COLUMNS = ("request_body", "response_body")
COMPRESS_FROM_BYTES = 1024  # both bodies together; below it zlib saves a few bytes at best
LEVEL = 1  # the fastest level already takes repetitive JSON and SSE down by ~30x


def pack(content: ContentRow, compress_from_bytes: int = COMPRESS_FROM_BYTES) -> ContentRow:
    """The content as stored: both bodies compressed, `body_encoding` 'zlib', when together they
    reach `compress_from_bytes`; otherwise the same dict. Never changes `content` itself (a spilled
    entry keeps its bodies as sent), and content already packed (or sealed, store/sealing.py, which
    packs first) is returned as it is."""
    if content.get("body_encoding") is not None or content.get("key_id") is not None:
        return content
    request, response = content.get("request_body"), content.get("response_body")
    if len(request or b"") + len(response or b"") < compress_from_bytes:
        return content
    packed = content.copy()
    packed["request_body"] = None if request is None else zlib.compress(request, LEVEL)
    packed["response_body"] = None if response is None else zlib.compress(response, LEVEL)
    packed["body_encoding"] = ZLIB
    return packed


def unpack(blob: bytes | None, encoding: str | None) -> bytes | None:
    """A stored body as it was sent."""
    if blob is None or encoding is None:
        return blob
    if encoding == ZLIB:
        return zlib.decompress(blob)
    raise ValueError(f"unknown body_encoding {encoding!r}")


def unpack_row(row: Row) -> Row:
    """Replace the row's stored bodies (those it has) with the bodies as sent, and drop
    `body_encoding`: what callers see is the same whatever the row's encoding. `row` is a whole
    content row or an export row (some call and content columns)."""
    encoding = row.pop("body_encoding", None)
    if encoding is not None:
        for column in BODY_COLUMNS:
            if column in row:
                row[column] = unpack(row[column], encoding)
    return row


def content_select(columns: Sequence[str]) -> list[str]:
    """The columns to read for `contents`: call_id first, body_encoding when a body is asked for,
    key_id when a column that may be sealed is (store/sealing.py); a name outside CONTENT_COLUMNS is
    refused (SQL is built only from those fixed names)."""
    unknown = set(columns) - set(CONTENT_COLUMNS)
    if unknown:
        raise ValueError(f"not content columns: {sorted(unknown)}")
    wanted = ["call_id", *dict.fromkeys(c for c in columns if c != "call_id")]
    if set(wanted) & set(BODY_COLUMNS):
        wanted.append("body_encoding")
    if set(wanted) & set(SEALED_COLUMNS):
        wanted.append("key_id")
    return wanted
