"""Reading and changing single entries beyond the list: hierarchy, events, feedback, previews. Sync."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from ..bodies import content_select
from ..interface import Hierarchy, StoredEvents
from ..keyring import Keyring
from ..rows import NODE_COLUMNS, PREVIEW_MEASURES, CallNode, Preview, Row, as_node
from ..sealing import opened, opened_or_marked, opened_preview
from .aggregates import COST_NANOS, UNPRICED  # one definition: a refused call that used no tokens is not unpriced
from .id_lists import chunks, marks
from .queries import _dicts

_NODE_SELECT = ", ".join(NODE_COLUMNS)  # enough to draw a node of a call tree without reading a whole entry
_MEASURES = ", ".join(PREVIEW_MEASURES)
MAX_CHILDREN = 1000
MAX_BREADCRUMB = 256  # a parent chain longer than this is cut (and said so)


def _nodes(conn: sqlite3.Connection, condition: str, args: tuple[object, ...]) -> list[CallNode]:
    return [as_node(row) for row in _dicts(conn.execute(f"SELECT {_NODE_SELECT} FROM calls WHERE {condition}", args))]


def hierarchy(conn: sqlite3.Connection, call_id: str) -> Hierarchy | None:
    """The call's place in its tree (None when no such id). Totals cover every call sharing its root."""
    found = _nodes(conn, "id = ?", (call_id,))
    if not found:
        return None
    node = found[0]
    chain = [node]
    seen = {node["id"]}
    while chain[-1]["parent_id"] and len(chain) < MAX_BREADCRUMB:
        up = _nodes(conn, "id = ?", (chain[-1]["parent_id"],))
        if not up or up[0]["id"] in seen:  # parent not logged, or a (malicious) cycle
            break
        seen.add(up[0]["id"])
        chain.append(up[0])
    children = _nodes(conn, "parent_id = ? ORDER BY started_at, id LIMIT ?", (call_id, MAX_CHILDREN))
    children_total = conn.execute("SELECT count(*) FROM calls WHERE parent_id = ?", (call_id,)).fetchone()[0]
    root_id = node["root_id"] or node["id"]
    calls, cost, unpriced, max_depth = conn.execute(
        f"SELECT count(*), coalesce(sum({COST_NANOS}), 0), sum{UNPRICED}, coalesce(max(depth), 0) "
        "FROM calls WHERE root_id = ?", (root_id,)).fetchone()
    parent = chain[1] if len(chain) > 1 and chain[1]["id"] == node["parent_id"] else None
    return Hierarchy(node=node, breadcrumb=list(reversed(chain)), parent=parent, children=children,
                     children_total=children_total, tree_calls=calls, tree_cost_nanos=cost,
                     tree_unpriced_calls=unpriced or 0, tree_max_depth=max_depth)


def events(conn: sqlite3.Connection, call_id: str, keyring: Keyring | None = None) -> StoredEvents | None:
    """A call's stream events as stored (the query layer splits them; opened, store/sealing.py), or
    None when no such id."""
    found = _dicts(conn.execute(
        "SELECT c.stream, c.has_content, cc.events, cc.chunk_offsets, "
        "CASE WHEN cc.chunk_offsets IS NULL THEN NULL ELSE cc.response_body END AS response_body, "
        "cc.body_encoding, cc.key_id FROM calls c "
        "LEFT JOIN call_content cc ON cc.call_id = c.id WHERE c.id = ?", (call_id,)))
    if not found:
        return None
    row = opened(found[0], keyring, call_id)
    return StoredEvents(bool(row["stream"]), bool(row["has_content"]), row["events"], row["chunk_offsets"],
                        row["response_body"])


def set_feedback(conn: sqlite3.Connection, call_id: str, feedback: dict[str, Any]) -> bool:
    """Store feedback (replacing any earlier); False when no such id. Run on the writer connection."""
    cursor = conn.execute("UPDATE calls SET feedback = ? WHERE id = ?",
                          (orjson.dumps(feedback).decode(), call_id))
    return cursor.rowcount > 0


def contents(conn: sqlite3.Connection, ids: list[str], columns: Sequence[str],
             keyring: Keyring | None = None) -> dict[str, Row]:
    """The named content columns of these calls (those that kept content), bodies as sent; a row
    that cannot be opened has `content_error` instead (store/sealing.py `opened_or_marked`)."""
    wanted = content_select(columns)
    out: dict[str, Row] = {}
    for chunk in chunks(ids):
        for row in _dicts(conn.execute(
                f"SELECT {', '.join(wanted)} FROM call_content WHERE call_id IN ({marks(chunk)})", chunk)):
            out[row["call_id"]] = opened_or_marked(row, keyring, row["call_id"])
    return out


def previews(conn: sqlite3.Connection, ids: list[str], chars: int = 120,
             keyring: Keyring | None = None) -> dict[str, Preview]:
    """The first `chars` characters of each call's prompt and output, and the measures of the whole
    texts, for the few ids a page shows. Only prefixes (substr) of texts in clear leave the database;
    sealed texts come whole, to be opened and cut (store/sealing.py `opened_preview`)."""
    out: dict[str, Preview] = {}
    for chunk in chunks(ids):
        for call_id, *values, sealed_under in conn.execute(
                "SELECT call_id, CASE WHEN key_id IS NULL THEN substr(prompt_text, 1, ?) ELSE prompt_text END, "
                "CASE WHEN key_id IS NULL THEN substr(output_text, 1, ?) ELSE output_text END, "
                f"{_MEASURES}, key_id FROM call_content WHERE call_id IN ({marks(chunk)})", [chars, chars, *chunk]):
            out[call_id] = opened_preview(call_id, values, sealed_under, keyring, chars)
    return out
