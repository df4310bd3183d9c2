"""Moving the WAL's pages into the database file, on a connection of its own.

SQLite's automatic checkpoint runs inside whichever COMMIT crosses 1,000 WAL pages, and with
`synchronous = NORMAL` it syncs both files there: the writer would stall on two fsyncs every few
hundred entries. The server turns it off for the writer and checkpoints from another thread.
"""

from __future__ import annotations

import sqlite3


def stop_automatic_checkpoints(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_autocheckpoint = 0")


def passive_checkpoint(conn: sqlite3.Connection) -> tuple[int, int]:
    """Copy committed WAL pages into the database without waiting for the writer or readers.
    Returns (pages in the WAL, pages copied so far); a WAL fully copied is reused from its start."""
    _busy, wal_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return wal_pages, copied
