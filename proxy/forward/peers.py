"""Reads Helicone's, LiteLLM's and Portkey's headers into the fields llmlog's own headers fill (DESIGN §3); pure.

A team moving to llmlog keeps the headers it already sends. Unlike llmlog's own headers, a peer's value
that llmlog cannot use is dropped, never a 400: it was written for another product, and the call must
go through as it did there. The limits are llmlog's own (`proxy/forward/control.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from llmlog.proxy.json_depth import depth

# Helicone's custom properties: `Helicone-Property-Team: a` is the metadata key `team`
HELICONE_PROPERTY = "helicone-property-"
# Helicone's own id for a call, chosen by the client; kept in the metadata under this key (not as
# llmlog's id, which llmlog makes: unique and time-sortable, which a client's id need not be)
HELICONE_REQUEST_ID_KEY = "helicone_request_id"
PORTKEY_USER = "_user"  # the key of `x-portkey-metadata` that names the end user


@dataclass(slots=True)
class PeerFields:
    """What the peers' headers said; each field in the order of precedence among peers."""

    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


def read_peer_headers(headers: Mapping[str, str], *, max_chars: int, max_depth: int) -> PeerFields:
    """Helicone, then LiteLLM, then Portkey. An id longer than `max_chars` is dropped (a cut id
    would join another session); a JSON value that is not an object, or nests deeper than
    `max_depth`, is dropped. Never raises."""
    peer = PeerFields()

    def add_user(user: str) -> None:
        peer.user_id = peer.user_id or user

    def short(name: str) -> str | None:
        value = (headers.get(name) or "").strip()
        return value if value and len(value) <= max_chars else None

    def json_object(name: str) -> dict:
        raw = headers.get(name)
        if raw is None or not raw.strip():
            return {}
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) and depth(value) <= max_depth else {}

    # Helicone
    if user := short("helicone-user-id"):
        add_user(user)
    peer.session_id = short("helicone-session-id")
    for name, value in headers.items():
        low = name.lower()
        if low.startswith(HELICONE_PROPERTY) and len(low) > len(HELICONE_PROPERTY) and value.strip():
            peer.metadata.setdefault(low[len(HELICONE_PROPERTY):], value.strip())
    if request_id := short("helicone-request-id"):
        peer.metadata[HELICONE_REQUEST_ID_KEY] = request_id

    # LiteLLM
    peer.tags.extend(t.strip() for t in (headers.get("x-litellm-tags") or "").split(",") if t.strip())
    _merge_under(peer.metadata, json_object("x-litellm-spend-logs-metadata"))
    if user := short("x-litellm-end-user-id"):
        add_user(user)

    # Portkey
    peer.trace_id = short("x-portkey-trace-id")
    portkey = json_object("x-portkey-metadata")
    named = portkey.pop(PORTKEY_USER, None)
    if isinstance(named, str) and named.strip() and len(named.strip()) <= max_chars:
        add_user(named.strip())
    _merge_under(peer.metadata, portkey)
    return peer


def _merge_under(into: dict, extra: dict) -> None:
    """Add `extra`'s keys that `into` lacks: the earlier family wins."""
    for key, value in extra.items():
        into.setdefault(key, value)
