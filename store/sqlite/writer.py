"""Writing batches of entries in one transaction; derives hierarchy fields at write time."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from ..bodies import COMPRESS_FROM_BYTES
from ..hierarchy import link_hierarchy, parents_outside
from ..interface import Refused
from ..keyring import Keyring
from ..rows import CALL_COLUMNS, CONTENT_COLUMNS, ContentRow, Entry, call_values, content_values
from ..sealing import stored_form
from .id_lists import chunks, marks

INSERT_TAG = "INSERT INTO call_tags (call_id, tag) VALUES (?, ?)"


def _link_hierarchy(conn: sqlite3.Connection, entries: Sequence[Entry]) -> None:
    """Fill `root_id` and `depth` from the parent, found in this batch or already stored."""
    stored: dict[str, tuple[str | None, int]] = {}
    for chunk in chunks(list(parents_outside(entries))):
        for cid, root, depth in conn.execute(f"SELECT id, root_id, depth FROM calls WHERE id IN ({marks(chunk)})",
                                             chunk):
            stored[cid] = (root, depth)
    link_hierarchy(entries, stored)


INSERT_CALL_AT = (f"INSERT INTO calls (rowid, {', '.join(CALL_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * (len(CALL_COLUMNS) + 1))})")
INSERT_CONTENT_AT = (f"INSERT INTO call_content (rowid, {', '.join(CONTENT_COLUMNS)}) "
                     f"VALUES ({', '.join('?' * (len(CONTENT_COLUMNS) + 1))})")
INSERT_SEARCH = "INSERT INTO call_search (rowid, prompt_text, output_text) VALUES (?, ?, ?)"
INSERT_KEY = "INSERT OR IGNORE INTO content_keys (key_id) VALUES (?)"


def _ids_present(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(ids):
        found.update(row[0] for row in conn.execute(f"SELECT id FROM calls WHERE id IN ({marks(chunk)})", chunk))
    return found


def write_batch(conn: sqlite3.Connection, entries: Sequence[Entry], *,
                compress_from_bytes: int = COMPRESS_FROM_BYTES, keyring: Keyring | None = None) -> int:
    """Insert entries in one transaction; ids already stored are skipped, so a replayed spill
    never duplicates. Returns the number of new entries. Bodies reaching `compress_from_bytes`
    are packed (store/bodies.py), and with a `keyring` the content is sealed (store/sealing.py):
    sealed content is not put in the search index, and its key id is remembered in content_keys."""
    if not entries:
        return 0
    # Bodies are packed (compressed when large, store/bodies.py) and content sealed before the write
    # lock is taken, so the lock is held only for the inserts; the entries keep their content as built.
    stored = {id(e): stored_form(e.content, keyring, compress_from_bytes) for e in entries if e.content is not None}
    conn.execute("BEGIN IMMEDIATE")
    try:
        present = _ids_present(conn, [e.call["id"] for e in entries])
        fresh: dict[str, Entry] = {}
        for entry in entries:
            if entry.call["id"] not in present:
                fresh.setdefault(entry.call["id"], entry)
        new = list(fresh.values())
        _link_hierarchy(conn, new)
        # One rowid per call, shared by its content and search rows (migration m006): a text search
        # then filters calls by an integer set, and the search rows go in straight from the entries.
        # Explicit: we hold the write lock.
        first = conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM calls").fetchone()[0]
        rowids = range(first, first + len(new))
        # rows are handed over as generators: sqlite3 makes each row just before inserting it, and lets go
        # of the GIL while it inserts, so the event loop never waits behind the Python work of a whole batch
        conn.executemany(INSERT_CALL_AT, ((rowid, *call_values(e.call)) for rowid, e in zip(rowids, new, strict=True)))
        with_content: list[tuple[int, ContentRow]] = [
            (rowid, stored[id(e)]) for rowid, e in zip(rowids, new, strict=True) if e.content is not None]
        if with_content:
            conn.executemany(INSERT_CONTENT_AT, ((rowid, *content_values(content)) for rowid, content in with_content))
            # an index of sealed content's words would hold it in clear: only content in clear is indexed
            conn.executemany(INSERT_SEARCH, ((rowid, content.get("prompt_text"), content.get("output_text"))
                                             for rowid, content in with_content if content.get("key_id") is None))
            key_ids = {key for _, content in with_content if (key := content.get("key_id")) is not None}
            if key_ids:
                conn.executemany(INSERT_KEY, [(key,) for key in sorted(key_ids)])
        tag_rows = [(e.call["id"], tag) for e in new for tag in e.tags]
        if tag_rows:
            conn.executemany(INSERT_TAG, tag_rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(new)


Write = Callable[[sqlite3.Connection, Sequence[Entry]], int]  # the store's write_batch, or a test's fault around it


def write_each(conn: sqlite3.Connection, entries: Sequence[Entry], write: Write = write_batch) -> tuple[int, Refused]:
    """After a batch failed on its data (not on availability), write entries one by one so a single
    bad entry cannot hold back the rest. Returns (new entries, [(entry, reason) refused]).
    An OperationalError (locked, read-only, disk full) still propagates: the caller spills."""
    written = 0
    rejected: Refused = []
    for entry in entries:
        try:
            written += write(conn, [entry])
        except sqlite3.OperationalError:
            raise
        except Exception as exc:
            rejected.append((entry, f"{type(exc).__name__}: {exc}"))
    return written, rejected


def write_or_split(conn: sqlite3.Connection, entries: Sequence[Entry],
                   write: Write = write_batch) -> tuple[int, Refused]:
    """`write(conn, entries)`; if the database refuses the batch for its data (not for being locked,
    read-only or full, which propagates), `write_each` instead. Returns (new entries, refused)."""
    try:
        return write(conn, entries), []
    except sqlite3.OperationalError:
        raise
    except Exception:
        return write_each(conn, entries, write)
