"""HTTP/1.1 messages as the upstream client needs them (RFC 9112): the request head it sends, the
response head it reads, how the body is framed, and a chunked-body decoder. Pure, no I/O.

Why by hand: aiohttp's ClientSession spent ~55 µs of CPU a call on the proxy's one core, about
40% of the ideal pass-through's 133 µs (bench/README.md, "The upstream client"); the
framing rules below are all a byte-faithful pass-through needs, and each is tested on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.forward.headers import connection_tokens, field_tokens

MAX_HEAD_BYTES = 64 * 1024  # status line and headers together; more is not a plausible provider answer
MAX_CHUNK_LINE_BYTES = 4096  # a chunk-size line with extensions, or one trailer field
# Methods whose empty body goes without Content-Length (as aiohttp's client and curl send them).
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

NO_BODY, LENGTH, CHUNKED, UNTIL_CLOSE = "none", "length", "chunked", "until-close"

_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: (.*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ProtocolError(Exception):
    """The upstream sent bytes that are not a valid HTTP/1.1 response."""


@dataclass(slots=True)
class ResponseHead:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # as sent: order, case and repeats kept
    framing: str  # NO_BODY | LENGTH | CHUNKED | UNTIL_CLOSE
    length: int  # for LENGTH: the body's bytes
    keep_alive: bool  # the connection may carry another request once this body is read


def request_head(method: str, target: str, host: str, headers: list[tuple[str, str]], body_length: int) -> bytes:
    """The request line and headers. `headers` must not hold Host or Content-Length (the proxy
    strips framing headers); a value with CR or LF is refused, never sent (header injection)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body_length or method not in BODYLESS_METHODS:
        lines.append(f"Content-Length: {body_length}")
    head = "\r\n".join(lines)
    if head.count("\n") != len(lines) - 1 or head.count("\r") != len(lines) - 1:
        raise ValueError("a request header holds a CR or LF")
    # header text came from aiohttp's parser, which keeps undecodable bytes as surrogate escapes
    return head.encode("utf-8", "surrogateescape") + b"\r\n\r\n"


def parse_response_head(data: bytes, method: str) -> ResponseHead:
    """The status line and headers (`data` without the blank line that ends them), and from them
    how the body is framed (RFC 9112 §6.3) and whether the connection can be reused."""
    lines = data.split(b"\n")
    match = _STATUS_LINE.fullmatch(lines[0].rstrip(b"\r"))
    if match is None:
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    major, minor, status = int(match[1]), int(match[2]), int(match[3])
    if major != 1:
        raise ProtocolError(f"unsupported HTTP version {major}.{minor}")
    headers = []
    for raw in lines[1:]:
        line = raw.rstrip(b"\r")
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:  # also refuses obs-fold and spaces before ':'
            raise ProtocolError(f"malformed header line: {line[:80]!r}")
        headers.append((name.decode("ascii"), value.strip(b" \t").decode("utf-8", "surrogateescape")))
    framing, length, reusable = _framing(method, status, headers)
    connection = connection_tokens(headers)
    keep_alive = reusable and "close" not in connection and (minor >= 1 or "keep-alive" in connection)
    reason = (match[4] or b"").decode("latin-1")
    return ResponseHead(status, reason, headers, framing, length, keep_alive)


def _framing(method: str, status: int, headers: list[tuple[str, str]]) -> tuple[str, int, bool]:
    """(framing, length, whether the framing lets the connection be reused)."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return NO_BODY, 0, True
    codings = field_tokens(headers, "transfer-encoding")
    lengths = set(field_tokens(headers, "content-length"))
    if codings and lengths:  # §6.3 rule 3: a smuggling sign
        raise ProtocolError("Transfer-Encoding together with Content-Length")
    if codings:
        if codings[-1] == "chunked":
            return CHUNKED, 0, True
        return UNTIL_CLOSE, 0, False  # §6.3 rule 4: the body ends when the server closes
    if not lengths:
        return UNTIL_CLOSE, 0, False
    if len(lengths) > 1 or not all(v.isdigit() and v.isascii() for v in lengths):
        raise ProtocolError(f"invalid Content-Length: {', '.join(sorted(lengths))}")
    length = int(lengths.pop())
    return (NO_BODY if length == 0 else LENGTH), length, True


class ChunkedDecoder:
    """Decodes a chunked body fed in pieces of any size (RFC 9112 §7.1). Trailer fields are read
    and dropped, as aiohttp's client did. `done` once the last chunk and trailers are in; bytes
    after that (`surplus`) mean the connection cannot be trusted for another request."""

    __slots__ = ("_buffer", "_remaining", "_state", "done", "surplus")

    def __init__(self) -> None:
        self._buffer = b""
        self._remaining = 0
        self._state = "size"  # size | data | data-end | trailer
        self.done = False
        self.surplus = False

    def feed(self, data: bytes) -> list[bytes]:
        """The body bytes in `data` (payload pieces, in order); raises ProtocolError on bad framing."""
        out: list[bytes] = []
        buf = self._buffer + data if self._buffer else data
        pos, end = 0, len(buf)
        while pos < end and not self.done:
            state = self._state
            if state == "data":
                take = min(self._remaining, end - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._state = "data-end"
            elif state == "data-end":
                if buf[pos:pos + 2] == b"\r\n":
                    pos += 2
                elif buf[pos:pos + 1] == b"\n":
                    pos += 1
                elif end - pos < 2 and buf[pos:pos + 1] == b"\r":
                    break  # the LF is in the next piece
                else:
                    raise ProtocolError("chunk data not followed by CRLF")
                self._state = "size"
            else:  # a chunk-size line or a trailer line
                newline = buf.find(b"\n", pos)
                if newline < 0:
                    if end - pos > MAX_CHUNK_LINE_BYTES:
                        raise ProtocolError("chunk-size or trailer line too long")
                    break
                line = buf[pos:newline].rstrip(b"\r")
                pos = newline + 1
                if state == "trailer":
                    self.done = not line
                    continue
                size = line.split(b";", 1)[0].strip(b" \t")
                if _HEX.fullmatch(size) is None:
                    raise ProtocolError(f"invalid chunk size {size[:20]!r}")
                self._remaining = int(size, 16)
                self._state = "data" if self._remaining else "trailer"
        self._buffer = buf[pos:]
        if self.done and self._buffer:
            self.surplus = True
        return out


__all__ = ["BODYLESS_METHODS", "CHUNKED", "ChunkedDecoder", "LENGTH", "MAX_HEAD_BYTES", "NO_BODY",
           "ProtocolError", "ResponseHead", "UNTIL_CLOSE", "parse_response_head", "request_head"]
