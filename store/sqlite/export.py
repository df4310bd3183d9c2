"""One keyset batch of the entries a filter matches, oldest first (`started_at`, then `id`), for
store/batches.py. Content columns are joined only when asked for (DESIGN §7: content stays out of
queries that do not need it); SQL is built only from EXPORTABLE_CONTENT's fixed names.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..batches import BATCH_ROWS, EXPORTABLE_CONTENT
from ..bodies import BODY_COLUMNS, unpack_row
from ..filters import LogFilter
from ..interface import Position
from ..keyring import Keyring
from ..rows import CALL_COLUMNS, SEALED_COLUMNS, Row
from ..sealing import opened_or_marked
from .where import where

_CALLS = ", ".join(f"calls.{c}" for c in CALL_COLUMNS)


def fetch_batch(conn: sqlite3.Connection, f: LogFilter, after: Position | None = None, *,
                content: Sequence[str] = (), limit: int = BATCH_ROWS, keyring: Keyring | None = None) -> list[Row]:
    """Up to `limit` matching rows after `after`, oldest first, with the asked content columns
    (opened_or_marked, store/sealing.py: UnsealError for a row that cannot be)."""
    unknown = set(content) - set(EXPORTABLE_CONTENT)
    if unknown:
        raise ValueError(f"not exportable content columns: {sorted(unknown)}")
    clause, params = where(f)
    select = _CALLS + "".join(f", cc.{c}" for c in content)
    packed = any(c in BODY_COLUMNS for c in content)
    if packed:  # the bodies come out as sent: unpacked below, the encoding column dropped again
        select += ", cc.body_encoding"
    sealed = any(c in SEALED_COLUMNS for c in content)
    if sealed:  # opened below, the key column dropped again
        select += ", cc.key_id"
    join = " LEFT JOIN call_content cc ON cc.call_id = calls.id" if content else ""
    # INDEXED BY: walk the (started_at, id) index in order, so every batch is a seek plus a short
    # scan; a filter-specific index would need a sort of all matches per batch (quadratic overall).
    sql = f"SELECT {select} FROM calls INDEXED BY calls_started{join} WHERE ({clause})"
    args = list(params)
    if after is not None:
        sql += " AND (calls.started_at, calls.id) > (?, ?)"
        args += [after[0], after[1]]
    sql += " ORDER BY calls.started_at, calls.id LIMIT ?"
    args.append(limit)
    cursor = conn.execute(sql, args)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor]
    if sealed:
        return [opened_or_marked(row, keyring, row["id"]) for row in rows]
    return [unpack_row(row) for row in rows] if packed else rows


def count_rows(conn: sqlite3.Connection, f: LogFilter) -> int:
    clause, params = where(f)
    count: int = conn.execute(f"SELECT count(*) FROM calls WHERE {clause}", params).fetchone()[0]
    return count


def oldest_start(conn: sqlite3.Connection, f: LogFilter) -> int | None:
    """The earliest `started_at` among the calls `f` selects: the oldest call an export can hold."""
    clause, params = where(f)
    oldest: int | None = conn.execute(f"SELECT min(started_at) FROM calls WHERE {clause}", params).fetchone()[0]
    return oldest
