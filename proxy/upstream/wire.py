"""HTTP/1.1 on the wire for the upstream client (RFC 9112): the request head it writes, and the
answer it reads through llhttp (`httptools.HttpResponseParser`). Pure, no I/O.

Why llhttp: the C parser behind Node and uvicorn, fuzzed, and strict where leniency has been the
root of request-smuggling bugs: line ends must be CRLF, Content-Length and Transfer-Encoding
together are refused, and so are repeated or malformed lengths, obs-folds and bad chunk framing.
Measured side by side (bench/bench_parser.py) it also parses an answer in a fraction of the time
the pure-Python parser it replaced took. What it leaves to this module: writing requests, HEAD
(httptools cannot tell llhttp that an answer carries no body), interim 1xx answers, the size limit
on a head, and what counts as bytes beyond the answer.
"""

from __future__ import annotations

from typing import Literal

import httptools

from llmlog.proxy.headers import connection_tokens, field_tokens
from llmlog.proxy.upstream.interface import UNASKED_UPGRADE

# status lines and headers together (interim answers' included), or trailers and chunk framing
# between two pieces of body: past this, the answer is not a plausible provider answer
MAX_HEAD_BYTES = 64 * 1024
# Methods whose empty body goes without Content-Length (as aiohttp's client and curl send them).
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

Framing = Literal["none", "length", "chunked", "until-close"]


class ProtocolError(Exception):
    """The upstream sent bytes that are not a valid HTTP/1.1 response."""


class _Beyond(Exception):
    """Raised from a callback to stop llhttp at the start of bytes that belong to no answer."""


def check_headers(headers: list[tuple[str, str]]) -> None:
    """Refuse a header a request cannot carry: a CR or LF would end it early (header injection)."""
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError("a request header holds a CR or LF")


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


class ResponseParser:
    """One answer, fed as it arrives: `feed(data)` returns the body bytes `data` held, as one piece
    (what one read brought is passed on as one piece, however many chunks it held). `head_done`
    once the final head is in (`status`, `reason`, `headers` as sent: order, case and repeats kept,
    surrounding spaces trimmed); `done` once the whole answer is; `keep_alive` whether the
    connection may carry another request then; `surplus` if bytes came beyond the answer (it was
    delivered whole, but the connection is not to be trusted again). Raises ProtocolError.
    llhttp calls the `on_*` methods; they are not for other callers.

    llhttp's parser holds this object (for its callbacks) and this object holds the parser: a cycle
    that only the garbage collector would free, 14 objects a call, which made its young-generation
    passes twice as frequent and 15 times as long. So the parser is dropped as soon as the answer is
    done, and by `close()` when the exchange ends otherwise."""

    __slots__ = ("_parser", "_head_only", "_tail", "_head_bytes", "_pieces", "_reason", "_interim", "_idle",
                 "status", "reason", "headers", "head_done", "done", "keep_alive", "surplus", "received")

    def __init__(self, method: str) -> None:
        self._parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._head_only = method == "HEAD"
        self._tail = b""  # the last bytes of a head fed so far, for a CRLFCRLF split across reads
        self._head_bytes = 0  # bytes of the heads (interim ones included) fed so far
        self._pieces: list[bytes] = []
        self._reason = b""
        self._interim = False  # the message being parsed is a 1xx answer, to be skipped
        self._idle = 0  # bytes fed since the final head or the last body byte
        self.status = 0
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.head_done = False
        self.done = False
        self.keep_alive = False
        self.surplus = False
        self.received = 0  # body bytes so far

    def feed(self, data: bytes) -> bytes:
        parser = self._parser
        if self.done or parser is None:
            self.surplus = True
            return b""
        try:
            if self.head_done:
                parser.feed_data(data)
            elif not self._head_only and self._head_bytes + len(data) <= MAX_HEAD_BYTES:
                # whatever heads this read holds fit within the limit: llhttp takes it whole, body and all
                parser.feed_data(data)
                if not self.head_done:
                    self._head_bytes += len(data)
                    self._tail = (self._tail + data)[-3:]
                data = b""  # the body's bytes are counted as pieces; none of this read is framing
            else:
                data = self._feed_heads(parser, data)
                if data and self._head_only:  # an answer to HEAD ends with its head (RFC 9110 §9.3.2)
                    self.surplus = True
                    return b""
                if data:
                    parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not self.done:
                cause = exc.__context__
                raise (cause if isinstance(cause, ProtocolError) else ProtocolError(str(exc) or "unparsable")) from None
            self.surplus = True  # llhttp stopped at bytes after the answer (or refused them)
        if self.done:
            self._parser = None
        pieces = self._pieces
        if not pieces:
            self._idle += len(data)
            if self._idle > MAX_HEAD_BYTES and not self.done:
                raise ProtocolError(f"chunk framing or trailers longer than {MAX_HEAD_BYTES} bytes")
            return b""
        self._idle = 0
        body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        pieces.clear()
        self.received += len(body)
        return body

    def close(self) -> None:
        """The exchange is over, the answer done or not: no more bytes will be fed."""
        self._parser = None

    def _feed_heads(self, parser: httptools.HttpResponseParser, data: bytes) -> bytes:
        """Feed llhttp the heads `data` holds (interim 1xx ones, then the final one) one at a time and
        return what follows the final one: for an answer to HEAD, and for a read that could take the
        heads past MAX_HEAD_BYTES. A head ends at its first CRLFCRLF (llhttp takes no other line end),
        so its size is known before llhttp sees it: past the limit, all heads together, is a
        ProtocolError however the bytes arrive, the body in the same read or not."""
        while data and not self.head_done:
            joined = self._tail + data  # the CRLFCRLF may be split across reads
            end = joined.find(b"\r\n\r\n")
            cut = len(data) if end < 0 else end + 4 - len(self._tail)
            self._head_bytes += cut
            if self._head_bytes > MAX_HEAD_BYTES:
                raise ProtocolError(f"response head longer than {MAX_HEAD_BYTES} bytes")
            if end < 0:
                parser.feed_data(data)
                self._tail = joined[-3:]
                return b""
            parser.feed_data(data[:cut])  # a 1xx head (and a body it declared), or the final head
            self._tail, data = b"", data[cut:]
        return data

    # -- llhttp's callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.done:
            raise _Beyond

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # after it, trailer fields: read and dropped, as aiohttp's client did
            # llhttp trims the spaces before a value, not after
            self.headers.append((name.decode("latin-1"), value.rstrip(b" \t").decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None  # llhttp calls back only from within feed
        status = parser.get_status_code()
        version = parser.get_http_version()
        if version[0] != "1" or version[1] != ".":
            raise ProtocolError(f"unsupported HTTP version {version}")
        if status < 200:
            if status == 101:
                raise ProtocolError(UNASKED_UPGRADE)
            # an interim answer (100 Continue, 103 Early Hints): skipped; the final one follows
            self._interim, self._reason = True, b""
            self.headers.clear()
            return
        self.status = status
        self.reason = self._reason.decode("latin-1")
        self.head_done = True
        if self._head_only:
            tokens = connection_tokens(self.headers)
            self.keep_alive = "close" not in tokens and (version != "1.0" or "keep-alive" in tokens)
            self.done = True
        else:
            self.keep_alive = parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if not self._interim:  # a 1xx that declares a body has it read and dropped
            self._pieces.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self.done = True

    # -- what the answer's framing says, for a connection that ended early ------------------------
    def framing(self) -> tuple[Framing, int]:
        """How the body is delimited (RFC 9112 §6.3), and for "length" how long it is."""
        if self._head_only or not self.head_done or self.status in (204, 304):
            return "none", 0
        codings = field_tokens(self.headers, "transfer-encoding")
        if codings:
            return ("chunked" if codings[-1] == "chunked" else "until-close"), 0
        lengths = field_tokens(self.headers, "content-length")
        if not lengths:
            return "until-close", 0
        return "length", int(lengths[0])

    def cut_short(self) -> str:
        """Where the answer stood when the connection ended before it was done, in words."""
        if not self.head_done:
            return "before answering"
        framing, length = self.framing()
        if framing == "until-close":
            return "before closing its body cleanly"
        if framing == "length":
            return f"with {self.received} of the {length} bytes its Content-Length declared"
        return "before the last chunk of its body"


__all__ = ["BODYLESS_METHODS", "MAX_HEAD_BYTES", "ProtocolError", "ResponseParser", "check_headers", "request_head"]
