"""Single entries beyond the list: hierarchy, events, feedback, previews; and the models seen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from ..bodies import content_select
from ..interface import Hierarchy, StoredEvents
from ..keyring import Keyring
from ..rows import NODE_COLUMNS, PREVIEW_MEASURES, CallNode, Preview, Row, as_node
from ..sealing import opened, opened_or_marked, opened_preview
from .aggregates import COST_NANOS, UNPRICED
from .queries import dicts, one

_NODE_SELECT = ", ".join(f"calls.{c}" for c in NODE_COLUMNS)
_MEASURES = ", ".join(PREVIEW_MEASURES)
MAX_CHILDREN = 1000
MAX_BREADCRUMB = 256  # a parent chain longer than this is cut (and said so)


def _node(conn: psycopg.Connection, call_id: str) -> CallNode | None:
    found = dicts(conn.execute(f"SELECT {_NODE_SELECT} FROM calls WHERE calls.id = %s", (call_id,)))
    return as_node(found[0]) if found else None


def hierarchy(conn: psycopg.Connection, call_id: str) -> Hierarchy | None:
    """The call's place in its tree (None when no such id). Totals cover every call sharing its root."""
    node = _node(conn, call_id)
    if node is None:
        return None
    chain = [node]
    seen = {node["id"]}
    while chain[-1]["parent_id"] and len(chain) < MAX_BREADCRUMB:
        up = _node(conn, chain[-1]["parent_id"])
        if up is None or up["id"] in seen:  # parent not logged, or a (malicious) cycle
            break
        seen.add(up["id"])
        chain.append(up)
    children = [as_node(row) for row in dicts(conn.execute(
        f"SELECT {_NODE_SELECT} FROM calls WHERE calls.parent_id = %s ORDER BY calls.started_at, calls.id LIMIT %s",
        (call_id, MAX_CHILDREN)))]
    children_total: int = one(conn.execute("SELECT count(*) FROM calls WHERE parent_id = %s", (call_id,)))[0]
    root_id = node["root_id"] or node["id"]
    calls, cost, unpriced, max_depth = one(conn.execute(
        f"SELECT count(*), coalesce(sum({COST_NANOS}), 0), count(*) FILTER (WHERE {UNPRICED}), "
        "coalesce(max(calls.depth), 0) FROM calls WHERE calls.root_id = %s", (root_id,)))
    parent = chain[1] if len(chain) > 1 and chain[1]["id"] == node["parent_id"] else None
    return Hierarchy(node=node, breadcrumb=list(reversed(chain)), parent=parent, children=children,
                     children_total=children_total, tree_calls=calls, tree_cost_nanos=int(cost),
                     tree_unpriced_calls=unpriced or 0, tree_max_depth=max_depth)


def events(conn: psycopg.Connection, call_id: str, keyring: Keyring | None = None) -> StoredEvents | None:
    """A call's stream events as stored (the query layer splits them; opened, store/sealing.py), or
    None when no such id."""
    found = dicts(conn.execute(
        "SELECT c.stream, c.has_content, cc.events, cc.chunk_offsets, "
        "CASE WHEN cc.chunk_offsets IS NULL THEN NULL ELSE cc.response_body END AS response_body, "
        "cc.body_encoding, cc.key_id FROM calls c "
        "LEFT JOIN call_content cc ON cc.call_id = c.id AND cc.started_at = c.started_at WHERE c.id = %s",
        (call_id,)))
    if not found:
        return None
    row = opened(found[0], keyring, call_id)
    return StoredEvents(bool(row["stream"]), bool(row["has_content"]), row["events"], row["chunk_offsets"],
                        row["response_body"])


def set_feedback(conn: psycopg.Connection, call_id: str, feedback: dict[str, Any]) -> bool:
    """Store feedback (replacing any earlier); False when no such id."""
    cursor = conn.execute("UPDATE calls SET feedback = %s WHERE id = %s", (orjson.dumps(feedback).decode(), call_id))
    return cursor.rowcount > 0


def contents(conn: psycopg.Connection, ids: list[str], columns: Sequence[str],
             keyring: Keyring | None = None) -> dict[str, Row]:
    """The named content columns of these calls (those that kept content), bodies as sent; a row
    that cannot be opened has `content_error` instead (store/sealing.py `opened_or_marked`)."""
    if not ids:
        return {}
    wanted = content_select(columns)
    rows = dicts(conn.execute(f"SELECT {', '.join(wanted)} FROM call_content WHERE call_id = ANY(%s)", (list(ids),)))
    return {row["call_id"]: opened_or_marked(row, keyring, row["call_id"]) for row in rows}


def previews(conn: psycopg.Connection, ids: list[str], chars: int = 120,
             keyring: Keyring | None = None) -> dict[str, Preview]:
    """The first `chars` characters of each call's prompt and output, and the measures of the whole
    texts; only those prefixes of texts in clear leave the server (sealed texts come whole, to be
    opened and cut: store/sealing.py `opened_preview`)."""
    if not ids:
        return {}
    rows = conn.execute("SELECT call_id, "
                        "CASE WHEN key_id IS NULL THEN substr(prompt_text, 1, %s) ELSE prompt_text END, "
                        "CASE WHEN key_id IS NULL THEN substr(output_text, 1, %s) ELSE output_text END, "
                        f"{_MEASURES}, key_id FROM call_content WHERE call_id = ANY(%s)", (chars, chars, list(ids)))
    return {call_id: opened_preview(call_id, values, sealed_under, keyring, chars)
            for call_id, *values, sealed_under in rows}


def model_call_counts(conn: psycopg.Connection, since_ms: int | None = None) -> list[Row]:
    """Calls per (provider, model, response_model) seen in the logs, most called first."""
    sql = "SELECT provider, model, response_model, count(*) AS calls FROM calls"
    args: list[object] = []
    if since_ms is not None:
        sql += " WHERE started_at >= %s"
        args.append(since_ms)
    # NULLS FIRST and bytewise order: as SQLite orders these rows
    sql += ' GROUP BY provider, model, response_model ORDER BY calls DESC, model COLLATE "C" NULLS FIRST'
    names = ("provider", "model", "response_model", "calls")
    return [dict(zip(names, r, strict=True)) for r in conn.execute(sql, args)]
