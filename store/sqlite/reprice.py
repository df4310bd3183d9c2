"""Recompute stored costs from stored tokens after a price change (`llmlog reprice`, DESIGN §5).

The store knows nothing about prices: the caller passes a pure `price` callback that maps one
stored row (provider, model, response_model and the token columns) to the cost columns.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from ..interface import PriceFn
from .removal import in_transaction

COST_COLUMNS = ("priced", "cost_micros", "input_cost_micros", "cached_input_cost_micros",
                "cache_write_cost_micros", "output_cost_micros", "pricing_version", "cost_buckets", "cost_nanos",
                "service_tier_priced")
_READ = ("id, provider, model, response_model, input_tokens, cached_input_tokens, cache_write_tokens, "
         "output_tokens, reasoning_tokens, cache_write_1h_tokens, input_audio_tokens, output_audio_tokens, "
         "service_tier")
# a call that was never interpreted (fallback entry) has no tokens to price
_HAS_TOKENS = "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"

def count_repriceable(conn: sqlite3.Connection, since_ms: int | None = None) -> int:
    sql = f"SELECT count(*) FROM calls WHERE {_HAS_TOKENS}"
    args: list = []
    if since_ms is not None:
        sql += " AND started_at >= ?"
        args.append(since_ms)
    return conn.execute(sql, args).fetchone()[0]


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
    names = [c.strip() for c in _READ.split(",")]
    while True:
        args = [after] + ([since_ms] if since_ms is not None else [])
        rows = conn.execute(f"SELECT {_READ}, {', '.join(COST_COLUMNS)} FROM calls WHERE {where} "
                            f"ORDER BY id LIMIT ?", [*args, batch_size]).fetchall()
        if not rows:
            return examined, changed
        updates = []
        for row in rows:
            stored = dict(zip(names + list(COST_COLUMNS), row))
            new = price({k: stored[k] for k in names})
            values = tuple(new[c] for c in COST_COLUMNS)
            if values != tuple(stored[c] for c in COST_COLUMNS):
                updates.append((*values, stored["id"]))
        if updates:
            assignments = ", ".join(f"{c} = ?" for c in COST_COLUMNS)
            in_transaction(conn, lambda c: c.executemany(f"UPDATE calls SET {assignments} WHERE id = ?", updates))
        examined += len(rows)
        changed += len(updates)
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))

