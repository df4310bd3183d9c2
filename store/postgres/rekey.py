"""`llmlog rekey` on PostgreSQL: as store/sqlite/rekey.py, keyed by the content's primary key
(call_id, started_at); a row that was in clear loses its search document too. The old versions of
rewritten rows stay in the table files until VACUUM reclaims them (autovacuum does, in time)."""

from __future__ import annotations

from collections.abc import Callable, Collection

import psycopg

from ..keyring import Keyring, RekeyResult
from ..rows import Row
from ..sealing import RESEALED_COLUMNS, UnsealError, resealed

_READ = ", ".join(RESEALED_COLUMNS)
_SET = ", ".join(f"{column} = %s" for column in RESEALED_COLUMNS)


def content_keys(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT key_id FROM content_keys")}


def forget_keys(conn: psycopg.Connection, ids: Collection[str]) -> list[str]:
    """Forget those of `ids` no content row is sealed under. The table lock makes a writer's
    transaction that remembers a key (store/postgres/writer.py) wait, or be waited for: a row
    committed meanwhile keeps its key remembered."""
    forgotten: list[str] = []
    if not ids:
        return forgotten
    with conn.transaction():
        conn.execute("LOCK TABLE content_keys IN EXCLUSIVE MODE")
        for key in sorted(ids):
            if conn.execute("SELECT 1 FROM call_content WHERE key_id = %s LIMIT 1", (key,)).fetchone() is None:
                conn.execute("DELETE FROM content_keys WHERE key_id = %s", (key,))
                forgotten.append(key)
    return forgotten


def _write(conn: psycopg.Connection, updates: list[tuple[str, int, str | None, Row]], result: RekeyResult) -> None:
    with conn.transaction():
        conn.execute("INSERT INTO content_keys (key_id) VALUES (%s) ON CONFLICT DO NOTHING",
                     (updates[0][3]["key_id"],))
        for call_id, started_at, was, new in updates:
            cursor = conn.execute(f"UPDATE call_content SET {_SET}, search = NULL WHERE call_id = %s "
                                  "AND started_at = %s AND key_id IS NOT DISTINCT FROM %s",
                                  [*(new[c] for c in RESEALED_COLUMNS), call_id, started_at, was])
            if cursor.rowcount and was is None:
                result.sealed_clear += 1
            elif cursor.rowcount:
                result.resealed += 1


def rekey(conn: psycopg.Connection, keyring: Keyring, *, batch_size: int, compress_from_bytes: int,
          progress: Callable[[int], None] | None = None, drop_unreadable: bool = False) -> RekeyResult:
    newest = keyring.newest.id
    result = RekeyResult()
    after: tuple[str, int] = ("", -(1 << 62))
    while True:
        rows = conn.execute(f"SELECT call_id, started_at, {_READ} FROM call_content "
                            "WHERE (call_id, started_at) > (%s, %s) AND key_id IS DISTINCT FROM %s "
                            "ORDER BY call_id, started_at LIMIT %s", (*after, newest, batch_size)).fetchall()
        if not rows:
            break
        after = (rows[-1][0], rows[-1][1])
        updates: list[tuple[str, int, str | None, Row]] = []
        for call_id, started_at, *values in rows:
            stored = dict(zip(RESEALED_COLUMNS, values, strict=True))
            try:
                updates.append((call_id, started_at, stored["key_id"],
                                resealed(stored, keyring, call_id, compress_from_bytes)))
            except UnsealError:
                result.failed.append(call_id)
        if updates:
            _write(conn, updates, result)
        if progress is not None:
            progress(len(rows))
    if drop_unreadable and result.failed:
        with conn.transaction():
            result.dropped = conn.execute("DELETE FROM call_content WHERE call_id = ANY(%s)", (result.failed,)).rowcount
            conn.execute("UPDATE calls SET has_content = 0 WHERE id = ANY(%s)", (result.failed,))
    result.forgotten = forget_keys(conn, content_keys(conn) - {newest})
    return result
