"""One keyset batch of the entries a filter matches, oldest first (`started_at`, then `id`), for
store/batches.py; content joined only when asked for, from EXPORTABLE_CONTENT's fixed names."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..batches import BATCH_ROWS, EXPORTABLE_CONTENT
from ..bodies import BODY_COLUMNS, unpack_row
from ..filters import LogFilter
from ..interface import Position
from ..keyring import Keyring
from ..rows import SEALED_COLUMNS, Row
from ..sealing import opened_or_marked
from .queries import CALL_SELECT, dicts, one
from .where import where


def fetch_batch(conn: psycopg.Connection, f: LogFilter, after: Position | None = None, *,
                content: Sequence[str] = (), limit: int = BATCH_ROWS, keyring: Keyring | None = None) -> list[Row]:
    unknown = set(content) - set(EXPORTABLE_CONTENT)
    if unknown:
        raise ValueError(f"not exportable content columns: {sorted(unknown)}")
    clause, params = where(f)
    select = CALL_SELECT + "".join(f", cc.{c}" for c in content)
    packed = any(c in BODY_COLUMNS for c in content)
    if packed:
        select += ", cc.body_encoding"
    sealed = any(c in SEALED_COLUMNS for c in content)
    if sealed:  # opened below (store/sealing.py), the key column dropped again
        select += ", cc.key_id"
    join = (" LEFT JOIN call_content cc ON cc.call_id = calls.id AND cc.started_at = calls.started_at"
            if content else "")
    sql = f"SELECT {select} FROM calls{join} WHERE ({clause})"
    args = list(params)
    if after is not None:
        sql += " AND (calls.started_at, calls.id) > (%s, %s)"
        args += [after[0], after[1]]
    sql += " ORDER BY calls.started_at, calls.id LIMIT %s"
    args.append(limit)
    rows = dicts(conn.execute(sql, args))
    if sealed:
        return [opened_or_marked(row, keyring, row["id"]) for row in rows]
    return [unpack_row(row) for row in rows] if packed else rows


def count_rows(conn: psycopg.Connection, f: LogFilter) -> int:
    clause, params = where(f)
    count: int = one(conn.execute(f"SELECT count(*) FROM calls WHERE {clause}", params))[0]
    return count


def oldest_start(conn: psycopg.Connection, f: LogFilter) -> int | None:
    clause, params = where(f)
    oldest: int | None = one(conn.execute(f"SELECT min(calls.started_at) FROM calls WHERE {clause}", params))[0]
    return oldest
