"""Recompute stored costs from stored tokens after a price change (`llmlog reprice`), walking the
calls by id in batches, one short transaction each, as store/sqlite/reprice.py does."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import psycopg

from ..interface import PriceFn
from ..rows import COST_COLUMNS, USAGE_COLUMNS, as_usage
from .queries import one

_HAS_TOKENS = "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"


def count_repriceable(conn: psycopg.Connection, since_ms: int | None = None) -> int:
    sql = f"SELECT count(*) FROM calls WHERE {_HAS_TOKENS}"
    args: list[object] = []
    if since_ms is not None:
        sql += " AND started_at >= %s"
        args.append(since_ms)
    count: int = one(conn.execute(sql, args))[0]
    return count


def reprice(conn: psycopg.Connection, price: PriceFn, *, since_ms: int | None = None, batch_size: int = 500,
            progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    examined = changed = 0
    after = ""
    where = f"{_HAS_TOKENS} AND id > %s" + (" AND started_at >= %s" if since_ms is not None else "")
    select = ", ".join((*USAGE_COLUMNS, "started_at", *COST_COLUMNS))
    assignments = ", ".join(f"{c} = %s" for c in COST_COLUMNS)
    while True:
        args = [after] + ([since_ms] if since_ms is not None else [])
        rows = conn.execute(f"SELECT {select} FROM calls WHERE {where} ORDER BY id LIMIT %s",
                            [*args, batch_size]).fetchall()
        if not rows:
            return examined, changed
        updates = []
        for row in rows:
            stored = dict(zip((*USAGE_COLUMNS, "started_at", *COST_COLUMNS), row, strict=True))
            new: Mapping[str, object] = price(as_usage({k: stored[k] for k in USAGE_COLUMNS}))
            values = tuple(new[c] for c in COST_COLUMNS)
            if values != tuple(stored[c] for c in COST_COLUMNS):
                updates.append((*values, stored["id"], stored["started_at"]))
        if updates:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(f"UPDATE calls SET {assignments} WHERE id = %s AND started_at = %s", updates)
        examined += len(rows)
        changed += len(updates)
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))
