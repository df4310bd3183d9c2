"""Reads the proxy's control headers (DESIGN §3) into a CallContext; pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from llmlog.proxy.booleans import WORDS_TEXT, parse_bool
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.forward.peers import read_peer_headers
from llmlog.proxy.json_depth import depth

MAX_ID_CHARS = 256
MAX_TAGS = 64
# deeper JSON than orjson writes back (its limit is 255): an entry's metadata must round-trip
MAX_METADATA_DEPTH = 32


class ControlHeaderError(ValidationError):
    """A control header the client must fix; `param` names it."""

    def __init__(self, param: str, message: str):
        super().__init__(message, param)


@dataclass(slots=True)
class CallContext:
    do_not_track: bool = False
    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    parent_id: str | None = None
    tags: list[str] = field(default_factory=list)
    environment: str | None = None
    task_type: str | None = None
    flow: str | None = None  # PromptShuttle's labels (DESIGN §3)
    customer_id: str | None = None
    agent_role: str | None = None
    metadata: dict | None = None


# each do-not-track header beside the value that asks for it (DESIGN §3)
DO_NOT_TRACK_HEADERS = (("x-debug", False), ("x-portkey-debug", False),
                        ("helicone-omit-request", True), ("helicone-omit-response", True))


def wants_no_tracking(headers: Mapping[str, str]) -> bool:
    """`x-debug: false` and the peers' equivalents all mean do-not-track. A privacy control never
    fails open: a value outside the true/false words (`x-debug: y`, `2`) is a ControlHeaderError
    (400, nothing forwarded), not a tracked call; an empty value is no value, as if not sent."""
    wanted = False
    for name, asks in DO_NOT_TRACK_HEADERS:
        for value in _every_copy(headers, name):  # a second copy (added on the way) is read too
            if not value.strip():
                continue
            try:
                wanted |= parse_bool(value) is asks
            except ValueError:
                shown = value if len(value) <= 40 else value[:40] + "…"
                raise ControlHeaderError(
                    name, f"{name} must be one of {WORDS_TEXT} (any case), got {shown!r}") from None
    return wanted


def _every_copy(headers: Mapping[str, str], name: str) -> list[str]:
    """Each value a header was sent with: a request may carry a header twice, and do-not-track must
    hold if any copy asks for it."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, ()))
    value = headers.get(name)
    return [] if value is None else [value]


def _short(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_ID_CHARS:
        raise ControlHeaderError(name, f"{name} is longer than {MAX_ID_CHARS} characters")
    return value or None


def with_tags(tags: list[str], more: list[str]) -> list[str]:
    """`tags` then the new ones of `more`, at most MAX_TAGS: a peer's extra tags are cut, not refused."""
    return list(dict.fromkeys([*tags, *more]))[:MAX_TAGS] if more else tags


def read_control_headers(headers: Mapping[str, str]) -> CallContext:
    """Parse control headers; raises ControlHeaderError for a llmlog header whose value cannot be
    used. Peers' headers (proxy/forward/peers.py) fill what llmlog's leave empty: llmlog's value wins
    for a single value, tags are joined (llmlog's first, at most MAX_TAGS), and metadata objects are
    merged key by key, llmlog's keys winning."""
    tags_raw = headers.get("x-llmlog-tags") or ""
    tags = list(dict.fromkeys(t.strip() for t in tags_raw.split(",") if t.strip()))
    if len(tags) > MAX_TAGS:
        raise ControlHeaderError("x-llmlog-tags", f"x-llmlog-tags holds more than {MAX_TAGS} tags")
    metadata = None
    raw_meta = headers.get("x-llmlog-metadata")
    if raw_meta is not None and raw_meta.strip():
        try:
            metadata = orjson.loads(raw_meta)
        except orjson.JSONDecodeError:
            raise ControlHeaderError("x-llmlog-metadata", "x-llmlog-metadata must be a JSON object") from None
        if not isinstance(metadata, dict):
            raise ControlHeaderError("x-llmlog-metadata", "x-llmlog-metadata must be a JSON object")
        if depth(metadata) > MAX_METADATA_DEPTH:
            raise ControlHeaderError("x-llmlog-metadata",
                                     f"x-llmlog-metadata nests deeper than {MAX_METADATA_DEPTH} levels")
    peer = read_peer_headers(headers, max_chars=MAX_ID_CHARS, max_depth=MAX_METADATA_DEPTH)
    if peer.metadata:
        metadata = {**peer.metadata, **(metadata or {})}
    user_id = _short(headers, "x-llmlog-user")
    return CallContext(
        do_not_track=wants_no_tracking(headers),
        user_id=user_id if user_id is not None else peer.user_id,
        session_id=_short(headers, "x-llmlog-session") or peer.session_id,
        trace_id=_short(headers, "x-llmlog-trace-id") or peer.trace_id,
        parent_id=_short(headers, "x-llmlog-parent-id"),
        tags=with_tags(tags, peer.tags),
        environment=_short(headers, "x-llmlog-environment"),
        task_type=_short(headers, "x-llmlog-task-type"),
        flow=_short(headers, "x-llmlog-flow"),
        customer_id=_short(headers, "x-llmlog-customer"),
        agent_role=_short(headers, "x-llmlog-agent-role"),
        metadata=metadata,
    )
