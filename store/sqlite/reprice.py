"""Recompute stored costs from stored tokens after a price change (`llmlog reprice`, DESIGN §5).

The store knows nothing about prices: the caller passes a pure `price` callback that maps one
stored row (provider, model, response_model and the token columns) to the cost columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping

from ..interface import PriceFn
from ..rows import COST_COLUMNS, USAGE_COLUMNS, as_usage
from .removal import in_transaction

_READ = ", ".join(USAGE_COLUMNS)
# a call that was never interpreted (fallback entry) has no tokens to price
_HAS_TOKENS = "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"

def count_repriceable(conn: sqlite3.Connection, since_ms: int | None = None) -> int:
    sql = f"SELECT count(*) FROM calls WHERE {_HAS_TOKENS}"
    args: list[object] = []
    if since_ms is not None:
        sql += " AND started_at >= ?"
        args.append(since_ms)
    count: int = conn.execute(sql, args).fetchone()[0]
    return count


def reprice(conn: sqlite3.Connection, price: PriceFn, *, since_ms: int | None = None, batch_size: int = 500,
            progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Rewrite the cost columns of calls started at or after `since_ms` (all when None).

    Walks the calls by id in batches, one transaction each, so the proxy's writer is never held
    up for long. Returns (calls examined, calls whose cost columns changed); `progress` gets
    the number examined in each batch.
    """
    examined = changed = 0
    after = ""
    where = f"{_HAS_TOKENS} AND id > ?" + (" AND started_at >= ?" if since_ms is not None else "")
    names = list(USAGE_COLUMNS)
    assignments = ", ".join(f"{c} = ?" for c in COST_COLUMNS)
    update = f"UPDATE calls SET {assignments} WHERE id = ?"
    while True:
        args = [after] + ([since_ms] if since_ms is not None else [])
        rows = conn.execute(f"SELECT {_READ}, {', '.join(COST_COLUMNS)} FROM calls WHERE {where} "
                            f"ORDER BY id LIMIT ?", [*args, batch_size]).fetchall()
        if not rows:
            return examined, changed
        updates = []
        for row in rows:
            stored = dict(zip(names + list(COST_COLUMNS), row, strict=True))
            new: Mapping[str, object] = price(as_usage({k: stored[k] for k in names}))
            values = tuple(new[c] for c in COST_COLUMNS)
            if values != tuple(stored[c] for c in COST_COLUMNS):
                updates.append((*values, stored["id"]))
        if updates:
            in_transaction(conn, lambda c, rows: c.executemany(update, rows), updates)
        examined += len(rows)
        changed += len(updates)
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))

