"""HTTP/1.1 framing for the upstream client (proxy/upstream/http1.py): request heads, response heads, chunked bodies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from proxy.upstream.http1 import (CHUNKED, LENGTH, NO_BODY, UNTIL_CLOSE, ChunkedDecoder, ProtocolError, parse_response_head,
                         request_head)


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


def head(text: str, method: str = "POST"):
    return parse_response_head(text.replace("\n", "\r\n").encode(), method)


@pytest.mark.parametrize("text, method, framing, length, keep_alive", [
    ("HTTP/1.1 200 OK\nContent-Length: 12", "POST", LENGTH, 12, True),
    ("HTTP/1.1 200 OK\nContent-Length: 12, 12", "POST", LENGTH, 12, True),
    ("HTTP/1.1 200 OK\nContent-Length: 0", "POST", NO_BODY, 0, True),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: chunked", "POST", CHUNKED, 0, True),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked", "POST", CHUNKED, 0, True),
    ("HTTP/1.1 200 OK\nTransfer-Encoding: gzip", "POST", UNTIL_CLOSE, 0, False),
    ("HTTP/1.1 200 OK\nContent-Type: text/plain", "POST", UNTIL_CLOSE, 0, False),
    ("HTTP/1.1 200 OK\nContent-Length: 12", "HEAD", NO_BODY, 0, True),
    ("HTTP/1.1 204 No Content", "POST", NO_BODY, 0, True),
    ("HTTP/1.1 304 Not Modified\nContent-Length: 40", "GET", NO_BODY, 0, True),
    ("HTTP/1.1 200 OK\nContent-Length: 3\nConnection: close", "POST", LENGTH, 3, False),
    ("HTTP/1.1 200 OK\nContent-Length: 3\nConnection: Keep-Alive, Close", "POST", LENGTH, 3, False),
    ("HTTP/1.0 200 OK\nContent-Length: 3", "POST", LENGTH, 3, False),
    ("HTTP/1.0 200 OK\nContent-Length: 3\nConnection: keep-alive", "POST", LENGTH, 3, True),
])
def test_body_framing_and_reuse_follow_rfc_9112(text, method, framing, length, keep_alive):
    parsed = head(text, method)
    assert (parsed.framing, parsed.length, parsed.keep_alive) == (framing, length, keep_alive)


def test_status_reason_and_headers_are_kept_as_sent():
    parsed = head("HTTP/1.1 429 Too Many Requests\nX-RateLimit-Remaining:  0 \nSet-Cookie: a=1\nset-cookie: b=2")
    assert (parsed.status, parsed.reason) == (429, "Too Many Requests")
    assert parsed.headers == [("X-RateLimit-Remaining", "0"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
    assert head("HTTP/1.1 200").reason == ""


@pytest.mark.parametrize("text", [
    "HTTP/1.1 20 OK", "HTTP/2 200 OK", "HTTP/2.0 200 OK", "ICY 200 OK", "HTTP/1.1 200 OK\nno colon here",
    "HTTP/1.1 200 OK\nBad Name: x", "HTTP/1.1 200 OK\nX: 1\n folded", "HTTP/1.1 200 OK\nContent-Length: 3, 4",
    "HTTP/1.1 200 OK\nContent-Length: -1", "HTTP/1.1 200 OK\nContent-Length: 0x10",
])
def test_what_is_not_http_1_is_a_protocol_error(text):
    with pytest.raises(ProtocolError):
        head(text)


@pytest.mark.parametrize("text", [
    "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5",
    "HTTP/1.1 200 OK\nContent-Length: 5\nTransfer-Encoding: gzip",
])
def test_transfer_encoding_with_content_length_is_a_protocol_error(text):
    # RFC 9112 §6.3: a smuggling sign, to be handled as an error (aiohttp's parser refused it); forwarding it
    # would hand the client a Content-Length that does not frame the de-chunked body
    with pytest.raises(ProtocolError, match="Content-Length"):
        head(text)


def chunked_encoding(pieces: list[bytes], extension: bool, trailers: list[tuple[bytes, bytes]]) -> bytes:
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(p), b";ext=1" if extension else b"", p) for p in pieces if p)
    return out + b"0\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in trailers) + b"\r\n"


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.binary(max_size=300), max_size=8), extension=st.booleans(),
       trailers=st.lists(st.tuples(st.sampled_from([b"X-T", b"Digest"]), st.binary(min_size=1, max_size=20).filter(
           lambda b: b"\r" not in b and b"\n" not in b)), max_size=2),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_a_chunked_body_decodes_whole_however_it_is_split(pieces, extension, trailers, cuts):
    wire = chunked_encoding(pieces, extension, trailers)
    bounds = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    decoder, out = ChunkedDecoder(), []
    for start, end in zip(bounds, bounds[1:]):
        out += decoder.feed(wire[start:end])
    assert b"".join(out) == b"".join(pieces)
    assert decoder.done and not decoder.surplus


def test_bytes_after_the_last_chunk_are_surplus():
    decoder = ChunkedDecoder()
    assert decoder.feed(b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK") == [b"abc"]
    assert decoder.done and decoder.surplus


@pytest.mark.parametrize("wire", [b"zz\r\n", b"3\r\nabcX\r\n", b"-3\r\nabc\r\n", b"1" * 5000, b"0x3\r\nabc\r\n"])
def test_bad_chunk_framing_is_a_protocol_error(wire):
    with pytest.raises(ProtocolError):
        ChunkedDecoder().feed(wire)
