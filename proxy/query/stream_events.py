"""A streamed call's events, stored once: the raw SSE body plus a chunk timeline to re-split it.

A stream's events are its body parsed, so storing both doubled the row (issue #7). Instead,
`call_content.chunk_offsets` holds JSON [[arrival_offset_ms, end_byte], ...], one pair per
captured chunk, `end_byte` the cumulative offset in the stored `response_body` where that chunk
ends. Re-slicing the body there and running the same `split_sse` gives back exactly the events
the entry was built from. Rows written before m003 keep their parsed `events` JSON; both read
through `stored_events`. Pure functions, no I/O: the pipeline writes the timeline, the store keeps
the columns as they are (store.interface.StoredEvents), the API and `llmlog show` split them here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from llmlog.pricing.usage.sse import split_sse
from llmlog.store.interface import StoredEvents

StoredEvent = list[Any]  # [offset_ms, event name or None, data] of one event


def chunk_timeline(chunks: Iterable[tuple[float, bytes]], stored_bytes: int) -> list[list[float]]:
    """[[arrival_offset_ms, end_byte], ...] for the chunks whose bytes were stored.

    `stored_bytes` is the length of the stored body (it may have been cut at max_body_bytes):
    a chunk that starts beyond it is left out and the one it cuts ends at it, so the timeline
    never points past what the store holds.
    """
    timeline: list[list[float]] = []
    start = 0
    for offset, raw in chunks:
        end = start + len(raw)
        if start >= stored_bytes and end > stored_bytes:  # every byte of it was cut
            break
        timeline.append([float(offset), min(end, stored_bytes)])
        start = end
    return timeline


def events_from_timeline(body: bytes | None, timeline: list[list[Any]]) -> list[StoredEvent]:
    """[[offset_ms, event, data], ...]: the body re-cut at the timeline's ends ([[offset_ms,
    end_byte], ...] as stored), split as at capture."""
    body = body or b""
    chunks = []
    start = 0
    for offset, end in timeline:
        chunks.append((offset, body[start:end]))
        start = end
    return [[e.offset_ms, e.event, e.data] for e in split_sse(chunks)]


def stored_events(events_json: str | None, chunk_offsets_json: str | None, body: bytes | None) -> list[StoredEvent]:
    """A stored call's events, from whichever form its row has (timeline first, then m001's JSON)."""
    if chunk_offsets_json is not None:
        return events_from_timeline(body, orjson.loads(chunk_offsets_json))
    if events_json is not None:
        events: list[StoredEvent] = orjson.loads(events_json)
        return events
    return []


def events_of(stored: StoredEvents) -> list[StoredEvent]:
    """The events of a row the store read (Store.events)."""
    return stored_events(stored.events_json, stored.chunk_offsets_json, stored.body)
