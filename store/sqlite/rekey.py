"""`llmlog rekey` on SQLite: every content row not sealed under the newest key (sealed under an older
one, or written in clear before encryption was on) is sealed again, in short transactions, so a
server writing to the same file meanwhile waits at most one batch; then the key ids no row uses any
more are forgotten (store/sealing.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection

from ..keyring import Keyring, RekeyResult
from ..rows import Row
from ..sealing import RESEALED_COLUMNS, UnsealError, resealed
from .removal import drop_content, in_transaction, reclaim_space

_READ = ", ".join(RESEALED_COLUMNS)
_SET = ", ".join(f"{column} = ?" for column in RESEALED_COLUMNS)


def content_keys(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT key_id FROM content_keys")}


def _forget(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    forgotten = []
    for key in ids:
        if conn.execute("SELECT 1 FROM call_content WHERE key_id = ? LIMIT 1", (key,)).fetchone() is None:
            conn.execute("DELETE FROM content_keys WHERE key_id = ?", (key,))
            forgotten.append(key)
    return forgotten


def forget_keys(conn: sqlite3.Connection, ids: Collection[str]) -> list[str]:
    """Forget those of `ids` no content row is sealed under; checked and forgotten in one write
    transaction, so a row a writer adds meanwhile keeps its key remembered."""
    return in_transaction(conn, _forget, sorted(ids)) if ids else []


def _write(conn: sqlite3.Connection, updates: list[tuple[int, str | None, Row]], result: RekeyResult) -> None:
    """Rewrite the rows still sealed as they were read (an erasure may have removed one meanwhile);
    rows that were in clear leave the search index. Call inside a transaction."""
    for rowid, was, new in updates:
        cursor = conn.execute(f"UPDATE call_content SET {_SET} WHERE rowid = ? AND key_id IS ?",
                              [*(new[c] for c in RESEALED_COLUMNS), rowid, was])
        if cursor.rowcount and was is None:
            conn.execute("DELETE FROM call_search WHERE rowid = ?", (rowid,))  # shares the content's rowid (m006)
            result.sealed_clear += 1
        elif cursor.rowcount:
            result.resealed += 1
    newest = {new["key_id"] for _, _, new in updates}
    conn.executemany("INSERT OR IGNORE INTO content_keys (key_id) VALUES (?)", [(k,) for k in newest])


def rekey(conn: sqlite3.Connection, keyring: Keyring, *, batch_size: int, compress_from_bytes: int,
          progress: Callable[[int], None] | None = None, drop_unreadable: bool = False) -> RekeyResult:
    newest = keyring.newest.id
    result = RekeyResult()
    after = 0
    while True:
        rows = conn.execute(f"SELECT rowid, call_id, {_READ} FROM call_content WHERE rowid > ? "
                            "AND (key_id IS NULL OR key_id != ?) ORDER BY rowid LIMIT ?",
                            (after, newest, batch_size)).fetchall()
        if not rows:
            break
        after = rows[-1][0]
        updates: list[tuple[int, str | None, Row]] = []
        for rowid, call_id, *values in rows:
            stored = dict(zip(RESEALED_COLUMNS, values, strict=True))
            try:
                updates.append((rowid, stored["key_id"], resealed(stored, keyring, call_id, compress_from_bytes)))
            except UnsealError:
                result.failed.append(call_id)
        if updates:
            in_transaction(conn, _write, updates, result)
        if progress is not None:
            progress(len(rows))
    if drop_unreadable and result.failed:
        result.dropped = in_transaction(conn, drop_content, result.failed)
    result.forgotten = forget_keys(conn, content_keys(conn) - {newest})
    if result.resealed or result.sealed_clear or result.dropped:
        reclaim_space(conn)  # old ciphertexts and the clear search rows leave the free pages and the WAL
    return result
