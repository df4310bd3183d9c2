"""Opening the SQLite file the same way everywhere: WAL, NORMAL sync, busy timeout, migrations."""

from __future__ import annotations

import os
import sqlite3

from ..interface import StoreError
from .migrations import migrate

BUSY_TIMEOUT_MS = 5000


def _pragmas(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased content is overwritten with zeros, not merely unlinked (DELETE /v1/logs/user/…).
    conn.execute("PRAGMA secure_delete = ON")


def connect(path: str, *, create: bool = True, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (and, when `create`, create and migrate) the database at `path`.

    Autocommit mode: callers group writes with explicit BEGIN/COMMIT.
    """
    if not create and not os.path.exists(path):
        raise StoreError(f"no llmlog database at {path} (run `llmlog serve` first, or pass --db)")
    if create:
        parent = os.path.dirname(os.path.abspath(path))
        try:  # a missing directory is made, as a first run expects
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:  # under a read-only directory, or through a regular file
            reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else (
                exc.strerror or str(exc))
            raise StoreError(f"cannot create the directory {parent} for the llmlog database: {reason}") from None
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise StoreError(f"llmlog database {path} is read-only; llmlog needs to write to it "
                             "(make it writable, or pass --db with another path)")
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
        _pragmas(conn)
        fresh = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if fresh and create:
            # must precede the first table, so pruning can hand pages back with incremental_vacuum
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open llmlog database {path}: {exc}") from exc
    return conn
