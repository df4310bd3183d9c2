"""split_sse: event boundaries across chunks, line endings, fields, offsets, garbage."""

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlog.pricing.types import SseEvent
from llmlog.pricing.usage.sse import _split_chunk_by_chunk, _split_lf_lines, _split_whole_lines, split_sse


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param(
            [(5.0, b'data: {"a":1}\n\n')],
            [SseEvent(5.0, None, '{"a":1}')],
            id="one-event-one-chunk",
        ),
        pytest.param(
            [(1.0, b'data: {"a"'), (2.5, b':1}\n'), (4.0, b"\n")],
            [SseEvent(4.0, None, '{"a":1}')],
            id="event-split-across-chunks-offset-of-completing-chunk",
        ),
        pytest.param(
            [(3.0, b"data: one\n\ndata: two\n\ndata: [DONE]\n\n")],
            [SseEvent(3.0, None, "one"), SseEvent(3.0, None, "two"), SseEvent(3.0, None, "[DONE]")],
            id="several-events-one-chunk",
        ),
        pytest.param(
            [(1.0, b"event: message_start\r\ndata: {}\r\n\r\nevent: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n")],
            [SseEvent(1.0, "message_start", "{}"), SseEvent(1.0, "ping", '{"type": "ping"}')],
            id="crlf",
        ),
        pytest.param(
            [(1.0, b"data: x\r"), (2.0, b"\n\r\n")],
            [SseEvent(2.0, None, "x")],
            id="crlf-split-between-chunks",
        ),
        pytest.param(
            [(1.0, b"data: x\r\rdata: y\r\r")],
            [SseEvent(1.0, None, "x"), SseEvent(1.0, None, "y")],
            id="bare-cr",
        ),
        pytest.param(
            [(1.0, b"data: line1\ndata: line2\ndata:line3\n\n")],
            [SseEvent(1.0, None, "line1\nline2\nline3")],
            id="multi-line-data-joined-by-newline",
        ),
        pytest.param(
            [(1.0, b": keep-alive\n\n: OPENROUTER PROCESSING\n\ndata: z\nid: 7\nretry: 10\n\n")],
            [SseEvent(1.0, None, "z")],
            id="comments-and-ignored-fields",
        ),
        pytest.param(
            [(1.0, b"event: ping\n\n")],
            [],
            id="event-without-data-dropped",
        ),
        pytest.param(
            [(1.0, b"data: done\n\n"), (9.0, b'data: {"partial":')],
            [SseEvent(1.0, None, "done"), SseEvent(9.0, None, '{"partial":')],
            id="trailing-partial-event-kept",
        ),
        pytest.param(
            [(1.0, b"data: done\n\nevent: x\n")],
            [SseEvent(1.0, None, "done")],
            id="trailing-partial-without-data-dropped",
        ),
        pytest.param(
            [(1.0, "data: caf\u00e9\n\n".encode()[:9]), (2.0, "data: caf\u00e9\n\n".encode()[9:])],
            [SseEvent(2.0, None, "caf\u00e9")],
            id="utf8-split-inside-a-character",
        ),
        pytest.param(
            [(0.0, b"\xef\xbb\xbfdata: bom\n\n")],
            [SseEvent(0.0, None, "bom")],
            id="leading-bom",
        ),
        pytest.param([], [], id="empty"),
    ],
)
def test_split_sse(chunks, expected):
    assert split_sse(chunks) == expected


@pytest.mark.parametrize(
    "chunks",
    [
        [(0.0, b"\xff\xfe\x00garbage\n\n\x00\x01")],
        [("not-a-number", b"data: x\n\n")],
        [None, 3, (1.0,)],
        [(1.0, "data: str chunk\n\n")],
        None,
    ],
)
def test_split_sse_never_raises(chunks):
    assert isinstance(split_sse(chunks), list)


def test_byte_by_byte_delivery_matches_one_chunk():
    raw = b"event: a\ndata: 1\n\nevent: b\r\ndata: 2\r\n\r\ndata: 3\n\n"
    whole = split_sse([(0.0, raw)])
    trickled = split_sse([(float(i), raw[i : i + 1]) for i in range(len(raw))])
    assert [(e.event, e.data) for e in trickled] == [(e.event, e.data) for e in whole]
    assert [e.offset_ms for e in trickled] == [17.0, 38.0, 47.0]  # a CR waits for a possible LF


# -- the LF-only fast path gives exactly what the chunk-by-chunk reader gives -------------------
SSE_PIECES = [b"data: ", b"data:", b"event: ", b"event:", b"id: 7", b"retry: 5", b": keep-alive", b"\n", b"\n\n",
              b"{\"a\":1}", b"[DONE]", b"x", b" ", b":", b"caf\xc3\xa9", b"\xe2\x82", b"\xff", b"\xef\xbb\xbf",
              b"\xf0\x9f\x98\x80", b"data: \xe2\x82\xac\n\n"]


@st.composite
def lf_streams(draw) -> list[tuple[float, bytes]]:
    raw = b"".join(draw(st.lists(st.sampled_from(SSE_PIECES), max_size=40)))
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    bounds = [0, *cuts, len(raw)]
    return [(float(i), raw[a:b]) for i, (a, b) in enumerate(pairwise(bounds))]


@settings(max_examples=400, deadline=None)
@given(lf_streams())
def test_the_lf_fast_path_equals_the_general_reader(chunks):
    raw = b"".join(data for _, data in chunks)
    assert _split_lf_lines(chunks, raw) == _split_chunk_by_chunk(chunks)
    assert split_sse(chunks) == _split_chunk_by_chunk(chunks)


@st.composite
def whole_line_streams(draw) -> list[tuple[float, bytes]]:
    """LF-only streams cut only after an LF (how servers flush), the last piece maybe unfinished."""
    raw = b"".join(draw(st.lists(st.sampled_from(SSE_PIECES), max_size=40)))
    ends = [i + 1 for i, byte in enumerate(raw) if byte == 0x0A]
    cuts = sorted(set(draw(st.lists(st.sampled_from(ends), max_size=12)))) if ends else []
    bounds = [0, *cuts, len(raw)]
    return [(float(i), raw[a:b]) for i, (a, b) in enumerate(pairwise(bounds))]


@settings(max_examples=600, deadline=None)
@given(whole_line_streams())
def test_the_whole_lines_path_equals_the_general_reader(chunks):
    assert _split_whole_lines(chunks) == _split_chunk_by_chunk(chunks)
    assert split_sse(chunks) == _split_chunk_by_chunk(chunks)


def test_a_stream_with_cr_takes_the_general_reader():
    chunks = [(1.0, b"data: x\r"), (2.0, b"\ndata: y\n\n")]
    assert split_sse(chunks) == [SseEvent(2.0, None, "x\ny")]
