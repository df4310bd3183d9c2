"""The upstream client's wire format (proxy/upstream/wire.py): request heads it writes, and answers read
through llhttp: framing, reuse, interim answers, HEAD, strict line ends, limits, bytes beyond the answer."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlog.proxy.upstream.wire import (
    MAX_HEAD_BYTES,
    ProtocolError,
    ResponseParser,
    request_head,
)


def test_request_head_has_host_and_length_and_the_headers_in_order():
    head = request_head("POST", "/v1/chat/completions?x=1", "api.example.com",
                        [("Authorization", "Bearer k"), ("X-A", "1"), ("x-a", "2")], 17)
    assert head == (b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: api.example.com\r\n"
                    b"Authorization: Bearer k\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 17\r\n\r\n")


@pytest.mark.parametrize("method, length, has_length", [
    ("GET", 0, False), ("HEAD", 0, False), ("POST", 0, True), ("DELETE", 0, True), ("GET", 3, True),
])
def test_content_length_is_sent_as_aiohttp_and_curl_send_it(method, length, has_length):
    assert (b"Content-Length:" in request_head(method, "/", "h", [], length)) is has_length


@pytest.mark.parametrize("bad", ["a\r\nInjected: 1", "a\nb", "a\rb"])
def test_a_header_value_with_cr_or_lf_is_refused_not_sent(bad):
    with pytest.raises(ValueError):
        request_head("POST", "/", "h", [("X-Key", bad)], 0)


def test_undecodable_header_bytes_go_out_as_they_came_in():
    value = b"caf\xe9".decode("utf-8", "surrogateescape")  # how aiohttp's parser hands over a latin-1 byte
    assert b"X-Name: caf\xe9\r\n" in request_head("GET", "/", "h", [("X-Name", value)], 0)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def read(wire: bytes, method: str = "POST", cuts: list[int] = ()) -> tuple[ResponseParser, bytes]:
    """Feed `wire` split at `cuts`; the parser and the body it gave back."""
    bounds = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    parser, body = ResponseParser(method), b""
    for start, end in itertools.pairwise(bounds):
        body += parser.feed(wire[start:end])
    return parser, body


@pytest.mark.parametrize("text, method, body, done, keep_alive, framing", [
    ("HTTP/1.1 200 OK\nContent-Length: 12\n\nhello world!", "POST", b"hello world!", True, True, ("length", 12)),
    ("HTTP/1.1 200 OK\nContent-Length: 0\n\n", "POST", b"", True, True, ("length", 0)),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", "POST", b"abc", True, True, ("chunked", 0)),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n3\nabc\n0\n\n", "POST", b"abc", True, True,
     ("chunked", 0)),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\nabc", "POST", b"abc", False, False, ("until-close", 0)),
    ("HTTP/1.1 200 OK\nContent-Type: text/plain\n\nabc", "POST", b"abc", False, False, ("until-close", 0)),
    ("HTTP/1.1 200 OK\nContent-Length: 12\n\n", "HEAD", b"", True, True, ("none", 0)),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n", "HEAD", b"", True, True, ("none", 0)),
    ("HTTP/1.1 204 No Content\n\n", "POST", b"", True, True, ("none", 0)),
    ("HTTP/1.1 304 Not Modified\nContent-Length: 40\n\n", "GET", b"", True, True, ("none", 0)),
    ("HTTP/1.1 200 OK\nContent-Length: 3\nConnection: close\n\nabc", "POST", b"abc", True, False, ("length", 3)),
    ("HTTP/1.1 200 OK\nContent-Length: 3\nConnection: Keep-Alive, Close\n\nabc", "POST", b"abc", True, False,
     ("length", 3)),
    ("HTTP/1.0 200 OK\nContent-Length: 3\n\nabc", "POST", b"abc", True, False, ("length", 3)),
    ("HTTP/1.0 200 OK\nContent-Length: 3\nConnection: keep-alive\n\nabc", "POST", b"abc", True, True, ("length", 3)),
    ("HTTP/1.0 200 OK\nContent-Length: 3\n\n", "HEAD", b"", True, False, ("none", 0)),
    ("HTTP/1.1 200 OK\nContent-Length: 3\nConnection: close\n\n", "HEAD", b"", True, False, ("none", 0)),
])
def test_body_framing_and_reuse_follow_rfc_9112(text, method, body, done, keep_alive, framing):
    parser, got = read(crlf(text), method)
    assert parser.head_done and got == body
    assert (parser.done, parser.keep_alive, parser.framing(), parser.surplus) == (done, keep_alive, framing, False)


def test_status_reason_and_headers_are_kept_as_sent():
    parser, _ = read(crlf("HTTP/1.1 429 Too Many Requests\nX-RateLimit-Remaining:  0 \nSet-Cookie: a=1\n"
                          "set-cookie: b=2\nX-Name: caf") + b"\xe9\r\nContent-Length: 0\r\n\r\n")
    assert (parser.status, parser.reason) == (429, "Too Many Requests")
    assert parser.headers == [("X-RateLimit-Remaining", "0"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2"),
                              ("X-Name", b"caf\xe9".decode("utf-8", "surrogateescape")), ("Content-Length", "0")]
    assert read(crlf("HTTP/1.1 200\nContent-Length: 0\n\n"))[0].reason == ""


@pytest.mark.parametrize("text", [
    "HTTP/1.1 20 OK", "HTTP/2 200 OK", "HTTP/2.0 200 OK", "HTTP/0.9 200 OK", "HTTP/1.2 200 OK", "ICY 200 OK",
    "SSH-2.0-OpenSSH_9.6", "HTTP/1.1 200 OK\nno colon here", "HTTP/1.1 200 OK\nBad Name: x",
    "HTTP/1.1 200 OK\nBad : x", "HTTP/1.1 200 OK\nX: 1\n folded", "HTTP/1.1 200 OK\nX: a\0b",
    "HTTP/1.1 200 OK\nContent-Length: 3, 4", "HTTP/1.1 200 OK\nContent-Length: -1",
    "HTTP/1.1 200 OK\nContent-Length: 0x10", "HTTP/1.1 200 OK\nContent-Length:",
    # a repeated length, even an equal one (RFC 9110 §8.6 lets a recipient refuse it; llhttp does, as
    # aiohttp's client, built on llhttp too, did before llmlog had its own)
    "HTTP/1.1 200 OK\nContent-Length: 3\nContent-Length: 3", "HTTP/1.1 200 OK\nContent-Length: 3, 3",
])
def test_what_is_not_http_1_is_a_protocol_error(text):
    with pytest.raises(ProtocolError):
        read(crlf(text + "\n\n"))


@pytest.mark.parametrize("text", [
    "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5",
    "HTTP/1.1 200 OK\nContent-Length: 5\nTransfer-Encoding: gzip",
])
def test_transfer_encoding_with_content_length_is_a_protocol_error(text):
    # RFC 9112 §6.3: a smuggling sign, to be handled as an error; forwarding it would hand the client
    # a Content-Length that does not frame the de-chunked body
    with pytest.raises(ProtocolError, match="Content-Length"):
        read(crlf(text + "\n\n"))


GOOD_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"


@pytest.mark.parametrize("where", [i for i in range(len(GOOD_CHUNKED)) if GOOD_CHUNKED[i:i + 1] == b"\r"])
def test_every_line_end_must_be_crlf_a_bare_lf_is_a_protocol_error(where):
    # status line, header lines, the blank line, chunk-size line, chunk data, trailers: a bare LF
    # anywhere is a broken upstream (the leniency behind several HTTP parser CVEs), never guessed at
    assert read(GOOD_CHUNKED)[1] == b"abc"
    # "Missing expected CR after ...", or for the blank line "Invalid header field char"
    with pytest.raises(ProtocolError):
        read(GOOD_CHUNKED[:where] + GOOD_CHUNKED[where + 1:])


def test_a_bare_lf_is_refused_in_an_answer_to_head_too():
    with pytest.raises(ProtocolError, match="CR"):
        read(b"HTTP/1.1 200 OK\nContent-Length: 3\n\n", "HEAD")


def chunked_encoding(pieces: list[bytes], extension: bool, trailers: list[tuple[bytes, bytes]]) -> bytes:
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(p), b";ext=1" if extension else b"", p) for p in pieces if p)
    return out + b"0\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in trailers) + b"\r\n"


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.binary(max_size=300), max_size=8), extension=st.booleans(),
       trailers=st.lists(st.tuples(st.sampled_from([b"X-T", b"Digest"]), st.binary(min_size=1, max_size=20).filter(
           lambda b: all(c >= 0x20 and c != 0x7f or c == 9 for c in b) and b[:1] not in b" \t")), max_size=2),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_a_chunked_body_decodes_whole_however_it_is_split(pieces, extension, trailers, cuts):
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_encoding(pieces, extension, trailers)
    parser, body = read(wire, cuts=cuts)
    assert body == b"".join(pieces)
    assert parser.done and parser.keep_alive and not parser.surplus
    assert parser.headers == [("Transfer-Encoding", "chunked")]  # trailers are read and dropped


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6), method=st.sampled_from(["POST", "HEAD"]))
def test_interim_answers_are_skipped_however_the_bytes_are_split(cuts, method):
    wire = crlf("HTTP/1.1 100 Continue\n\nHTTP/1.1 103 Early Hints\nLink: </a.css>; rel=preload\n\n"
                "HTTP/1.1 200 OK\nContent-Length: 2\nX-Final: 1\n\n") + (b"" if method == "HEAD" else b"{}")
    parser, body = read(wire, method, cuts)
    assert (parser.status, parser.reason, parser.headers) == (200, "OK", [("Content-Length", "2"), ("X-Final", "1")])
    assert parser.done and parser.keep_alive and not parser.surplus
    assert body == (b"" if method == "HEAD" else b"{}")


def test_a_body_an_interim_answer_declares_is_read_and_dropped():
    parser, body = read(crlf("HTTP/1.1 199 Odd\nContent-Length: 4\n\nxxxxHTTP/1.1 200 OK\nContent-Length: 2\n\n{}"))
    assert (parser.status, body, parser.done, parser.surplus) == (200, b"{}", True, False)


def test_a_101_switching_protocols_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="101"):
        read(crlf("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: upgrade\n\n"))


def test_what_one_read_brings_is_one_piece_and_each_read_gives_its_own():
    parser = ResponseParser("POST")
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert parser.feed(head + b"6\r\ndata: \r\n3\r\nA\n\n\r\n") == b"data: A\n\n"
    assert parser.head_done and not parser.done
    assert parser.feed(b"3\r\nB\n\n\r\n") == b"B\n\n"
    assert parser.feed(b"0\r\n") == b"" and not parser.done
    assert parser.feed(b"\r\n") == b"" and parser.done and parser.received == 12


@pytest.mark.parametrize("wire, method", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK", "POST"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", "POST"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabcdef", "POST"),
    (b"HTTP/1.1 204 No Content\r\n\r\nxyz", "POST"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "HEAD"),
])
def test_bytes_after_the_answer_are_surplus_and_the_answer_is_still_whole(wire, method):
    parser, body = read(wire, method)
    assert parser.done and parser.surplus
    assert body == (b"" if method == "HEAD" or b"204" in wire else b"abc")
    assert parser.feed(b"more") == b"" and parser.surplus


@pytest.mark.parametrize("body", [b"zz\r\n", b"3\r\nabcX\r\n", b"-3\r\nabc\r\n", b"1" * 5000, b"0x3\r\nabc\r\n",
                                  b"3 \r\nabc\r\n"])
def test_bad_chunk_framing_is_a_protocol_error(body):
    with pytest.raises(ProtocolError):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)


def test_a_head_past_the_limit_is_a_protocol_error_without_waiting_for_its_end():
    parser = ResponseParser("POST")
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ProtocolError, match="response head longer than"):
        for _ in range(MAX_HEAD_BYTES // 1000 + 1):
            parser.feed(b"X-Filler: " + b"x" * 988 + b"\r\n")


@pytest.mark.parametrize("method", ["POST", "HEAD"])
@pytest.mark.parametrize("cuts", [[], [40_000], [10, 90_000]], ids=["one-read", "two-reads", "three-reads"])
def test_a_head_past_the_limit_is_a_protocol_error_even_with_its_body_in_the_same_read(method, cuts):
    wire = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Padding: " + b"p" * 100_000
            + b"\r\nContent-Length: 2\r\n\r\n{}")
    with pytest.raises(ProtocolError, match=f"response head longer than {MAX_HEAD_BYTES} bytes"):
        read(wire, method, cuts)


def test_a_head_just_within_the_limit_is_read_whatever_the_reads_bring():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: "
    head += b"p" * (MAX_HEAD_BYTES - len(head) - 4) + b"\r\n\r\n"
    assert len(head) == MAX_HEAD_BYTES
    for cuts in ([], [len(head) - 2], [len(head) - 1, len(head) + 1]):
        parser, body = read(head + b"{}", cuts=cuts)
        assert parser.done and body == b"{}" and len(parser.headers[1][1]) > 60_000


@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_a_small_head_with_a_large_body_in_one_read_is_read_whole(method):
    body = b"x" * (3 * MAX_HEAD_BYTES)  # the read passes the limit, the head does not
    wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
    parser, got = read(wire + (body if method == "POST" else b""), method)
    assert parser.done and not parser.surplus and got == (body if method == "POST" else b"")


def test_trailers_past_the_limit_are_a_protocol_error():
    parser = ResponseParser("POST")
    assert parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n") == b"abc"
    with pytest.raises(ProtocolError, match="trailers longer than"):
        for _ in range(MAX_HEAD_BYTES // 1000 + 1):
            parser.feed(b"X-Trailer: " + b"x" * 987 + b"\r\n")


@pytest.mark.parametrize("wire, said", [
    (b"", "before answering"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "before answering"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + b"x" * 68,
     "with 68 of the 500 bytes its Content-Length declared"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "before the last chunk of its body"),
    (b"HTTP/1.0 200 OK\r\n\r\nabc", "before closing its body cleanly"),
])
def test_an_answer_cut_short_says_where_it_stood(wire, said):
    assert read(wire)[0].cut_short() == said
