"""Split a recorded server-sent-event stream into events, keeping each event's arrival offset."""

from __future__ import annotations

import codecs
import itertools
import re
from typing import Any

from llmlog.pricing.types import SseEvent

# WHATWG SSE: a line ends with CRLF, LF or CR.
_LINE_END = re.compile(r"\r\n|\r|\n")


class _Builder:
    """Accumulates the fields of the event being read (WHATWG "dispatch" rules)."""

    def __init__(self) -> None:
        self.events: list[SseEvent] = []
        self.event: str | None = None
        self.data: list[str] = []

    def line(self, line: str, offset_ms: float) -> None:
        if line == "":
            self.dispatch(offset_ms)
            return
        if line.startswith(":"):  # comment / keep-alive
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value or None
        # `id:` and `retry:` do not matter for logging; unknown fields are ignored per spec

    def dispatch(self, offset_ms: float) -> None:
        # an event with no data line is dropped, as browsers do
        if self.data:
            self.events.append(SseEvent(offset_ms, self.event, "\n".join(self.data)))
        self.event = None
        self.data = []


def _as_chunk(item: Any) -> tuple[float, bytes] | None:
    """One recorded (offset, bytes) pair as it should be, or None for anything else."""
    try:
        offset, raw = item
        if isinstance(raw, str):
            raw = raw.encode()
        return float(offset), bytes(raw)
    except Exception:  # garbage in the recording must not break logging
        return None


def split_sse(chunks: list[tuple[float, bytes]]) -> list[SseEvent]:
    """Split raw chunks (arrival offset in ms since request start, bytes) into SSE events.

    An event may span chunks and a chunk may hold several events; each event carries the
    offset of the chunk that completed it. A trailing event without its blank line is kept
    if it has data (a stream cut short still tells what arrived). Never raises.
    """
    readable = [chunk for chunk in map(_as_chunk, chunks or ()) if chunk is not None]
    raw = b"".join(data for _, data in readable)
    if b"\r" not in raw:  # every provider we know ends lines with LF alone
        if all(data.endswith(b"\n") for _, data in readable[:-1]):  # and sends whole lines
            return _split_whole_lines(readable)
        return _split_lf_lines(readable, raw)
    return _split_chunk_by_chunk(readable)


def _split_whole_lines(chunks: list[tuple[float, bytes]]) -> list[SseEvent]:
    """The same events as `_split_lf_lines` when every chunk but the last ends with LF (how servers
    flush events), about three times faster: each chunk is read on its own, its lines all belong to
    it, and an event that is one `data: ` line is taken whole without going line by line."""
    builder = _Builder()
    events = builder.events
    first = True
    offset = 0.0
    for offset, data in chunks:
        if not data:
            continue
        text = data.decode("utf-8", "replace")  # no UTF-8 sequence spans an LF, so none spans chunks
        if first:
            text, first = text.removeprefix("\ufeff"), False
        blocks = text.split("\n\n")
        tail = blocks.pop()
        for block in blocks:  # each ends at a blank line: one event, or none
            if block[:6] == "data: " and "\n" not in block and not (builder.data or builder.event):
                events.append(SseEvent(offset, None, block[6:]))
                continue
            for line in block.split("\n"):
                builder.line(line, offset)
            builder.dispatch(offset)
        if tail:  # lines after the last blank line; an event carried on into the next chunk
            lines = tail.split("\n")
            if lines[-1] == "":  # the tail ended with its LF
                lines.pop()
            for line in lines:
                builder.line(line, offset)
    builder.dispatch(offset)
    return events


def _split_lf_lines(chunks: list[tuple[float, bytes]], raw: bytes) -> list[SseEvent]:
    """The same events as `_split_chunk_by_chunk` when no line ends with CR, in one pass over the
    whole stream (about three times faster). A line belongs to the chunk holding its LF byte: LF
    never occurs inside a UTF-8 sequence, so the n-th LF of the text is the n-th LF byte."""
    builder = _Builder()
    text = raw.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = text.split("\n")
    ends = list(itertools.accumulate(len(data) for _, data in chunks))
    last_offset = chunks[-1][0] if chunks else 0.0
    chunk, newline = 0, -1
    for line in lines[:-1]:
        newline = raw.index(b"\n", newline + 1)
        while ends[chunk] <= newline:
            chunk += 1
        builder.line(line, chunks[chunk][0])
    if lines[-1]:  # an unfinished last line still counts (a stream cut short)
        builder.line(lines[-1], last_offset)
    builder.dispatch(last_offset)
    return builder.events


def _split_chunk_by_chunk(chunks: list[tuple[float, bytes]]) -> list[SseEvent]:
    """The general reader: decodes chunk by chunk, handles CR and CRLF split across chunks."""
    builder = _Builder()
    # incremental decoding: a UTF-8 character may be split across chunks
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    last_offset = 0.0
    first = True
    for last_offset, raw in chunks:
        # only the new text (and a held-back CR) can hold a line end: rescanning all of a
        # long unfinished line for every small chunk would be quadratic
        scan_from = max(0, len(pending) - 1)
        pending += decoder.decode(raw)
        if first and pending:
            pending = pending.removeprefix("\ufeff")
            first = False
        pending = _feed_lines(builder, pending, last_offset, final=False, scan_from=scan_from)
    pending += decoder.decode(b"", final=True)
    _feed_lines(builder, pending, last_offset, final=True)
    builder.dispatch(last_offset)
    return builder.events


def _feed_lines(builder: _Builder, text: str, offset_ms: float, *, final: bool, scan_from: int = 0) -> str:
    """Feed every complete line of `text` to the builder; return the unfinished rest."""
    pos = 0
    for match in _LINE_END.finditer(text, scan_from):
        # a lone CR at the very end may be the first half of a CRLF split across chunks
        if not final and match.group() == "\r" and match.end() == len(text):
            break
        builder.line(text[pos : match.start()], offset_ms)
        pos = match.end()
    rest = text[pos:]
    if final and rest:
        builder.line(rest, offset_ms)
        return ""
    return rest
