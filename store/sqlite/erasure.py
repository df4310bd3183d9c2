"""Erasing one end user's calls, content and search rows included (DELETE /v1/logs/user/{id})."""

from __future__ import annotations

import sqlite3
import time

from .export_jobs import withdraw_files
from .removal import drop_calls, in_transaction, reclaim_space


def delete_user(conn: sqlite3.Connection, user_id: str) -> int:
    """Delete every call of `user_id` and reclaim the space; returns the number of calls deleted.

    Run on the writer connection: it writes, then checkpoints the WAL.
    """
    ids = [row[0] for row in conn.execute("SELECT id FROM calls WHERE user_id = ?", (user_id,))]
    if not ids:
        return 0
    deleted = in_transaction(conn, drop_calls, ids)
    withdraw_files(conn, int(time.time() * 1000))  # exports written earlier may quote this user
    reclaim_space(conn)
    return deleted
