"""Writing batches of entries: COPY into `calls`, `call_content` and `call_tags` in one transaction.

Ids already stored are skipped, so a spill replayed after a crash never duplicates: the batch's
ids are looked up first (inside the transaction, confined to the batch's time span: a stored call
has the `started_at` its entry carries), and the rest go in by COPY, PostgreSQL's bulk path. Two
writers storing the same id at the same moment (never the case for one proxy; conceivable for a
replay racing its own original) make the COPY fail on the primary key: that is a data error, so
`write_or_split` writes the batch one entry at a time, each skipping what is stored by then.

`root_id` and `depth` are filled as SQLite's writer fills them (store/sqlite/writer.py
`_link_hierarchy`); bodies are packed (store/bodies.py) before the transaction, as there.

PostgreSQL text cannot hold NUL characters, which a JSON string may carry (`\\u0000`); rather than
refuse such an entry, a NUL in a text column is stored as U+FFFD (store/postgres/connect.py).
"""

from __future__ import annotations

from typing import Sequence

import psycopg

from ..bodies import pack
from ..rows import CALL_COLUMNS, CONTENT_COLUMNS, Entry, call_values, content_values
from . import partitions, search

_CONTENT_COPY = ("started_at", *CONTENT_COLUMNS, "search")
COPY_CALLS = f"COPY calls ({', '.join(CALL_COLUMNS)}) FROM STDIN"
COPY_CONTENT = f"COPY call_content ({', '.join(_CONTENT_COPY)}) FROM STDIN"
COPY_TAGS = "COPY call_tags (call_id, tag, started_at) FROM STDIN"


def _link_hierarchy(conn: psycopg.Connection, entries: Sequence[Entry]) -> None:
    """Fill `root_id` and `depth` from the parent, found in this batch or already stored."""
    in_batch = {e.call["id"]: e.call for e in entries}
    wanted = list({e.call["parent_id"] for e in entries if e.call.get("parent_id")} - set(in_batch))
    stored: dict[str, tuple[str | None, int]] = {}
    if wanted:
        for cid, root, depth in conn.execute("SELECT id, root_id, depth FROM calls WHERE id = ANY(%s)", (wanted,)):
            stored[cid] = (root, depth)
    for entry in entries:  # ids are time-sorted, so a parent in the batch precedes its children
        call = entry.call
        parent = call.get("parent_id")
        if not parent:
            call["root_id"], call["depth"] = call["id"], 0
        elif parent in in_batch and in_batch[parent] is not call:
            p = in_batch[parent]
            call["root_id"], call["depth"] = p.get("root_id") or parent, (p.get("depth") or 0) + 1
        elif parent in stored:
            root, depth = stored[parent]
            call["root_id"], call["depth"] = root or parent, depth + 1
        else:  # parent not logged (yet): it is the root as far as we know
            call["root_id"], call["depth"] = parent, 1


def _ids_present(conn: psycopg.Connection, entries: Sequence[Entry]) -> set[str]:
    times = [e.call["started_at"] for e in entries if isinstance(e.call["started_at"], int)]
    if not times:  # not a time among them: the COPY refuses them (started_at is NOT NULL)
        return set()
    return {row[0] for row in conn.execute(
        "SELECT id FROM calls WHERE id = ANY(%s) AND started_at BETWEEN %s AND %s",
        ([e.call["id"] for e in entries], min(times), max(times)))}


def write_batch(conn: psycopg.Connection, entries: Sequence[Entry]) -> int:
    """Insert entries in one transaction; ids already stored are skipped. Returns how many were new."""
    if not entries:
        return 0
    stored = {id(e): content_values(pack(e.content)) for e in entries if e.content is not None}
    partitions.ensure_weeks(conn, [e.call["started_at"] for e in entries])
    with conn.transaction():
        present = _ids_present(conn, entries)
        fresh: dict[str, Entry] = {}
        for entry in entries:
            if entry.call["id"] not in present:
                fresh.setdefault(entry.call["id"], entry)
        new = list(fresh.values())
        if not new:
            return 0
        _link_hierarchy(conn, new)
        with conn.cursor() as cur:
            with cur.copy(COPY_CALLS) as copy:
                for entry in new:
                    copy.write_row(call_values(entry.call))
            with_content = [e for e in new if e.content is not None]
            if with_content:
                with cur.copy(COPY_CONTENT) as copy:
                    for entry in with_content:
                        content = entry.content
                        copy.write_row((entry.call["started_at"], *stored[id(entry)],
                                        search.document(content.get("prompt_text"), content.get("output_text"))))
            tag_rows = [(e.call["id"], tag, e.call["started_at"]) for e in new for tag in e.tags]
            if tag_rows:
                with cur.copy(COPY_TAGS) as copy:
                    for row in tag_rows:
                        copy.write_row(row)
    return len(new)


# SQLSTATE classes that name something wrong with the data sent: 22 data exception (a value out
# of range, bad encoding), 23 integrity (a key stored meanwhile, a week's partition dropped
# meanwhile), 54 program limit (a value too large for an index). Every other server error (the
# server unreachable, shutting down, read-only, out of disk, locks timing out, privileges, schema
# missing) says the store cannot be used now: the batch is spilled and written later, never refused.
DATA_CLASSES = ("22", "23", "54")


def refused_for_its_data(conn: psycopg.Connection, exc: Exception) -> bool:
    """True when `exc` is about the entries written, not about the store's availability."""
    if conn.closed or conn.broken:
        return False
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return bool(exc.sqlstate) and exc.sqlstate[:2] in DATA_CLASSES
    if isinstance(exc, psycopg.Error) and exc.sqlstate:
        return exc.sqlstate[:2] in DATA_CLASSES
    return True  # refused before it reached the server: a value psycopg cannot send


def write_each(conn: psycopg.Connection, entries: Sequence[Entry], write=write_batch
               ) -> tuple[int, list[tuple[Entry, str]]]:
    """After a batch failed on its data, write entries one by one so one bad entry cannot hold
    back the rest. Returns (new entries, [(entry, reason) refused]); availability errors propagate."""
    written, rejected = 0, []
    for entry in entries:
        try:
            written += write(conn, [entry])
        except Exception as exc:
            if not refused_for_its_data(conn, exc):
                raise
            rejected.append((entry, f"{type(exc).__name__}: {exc}"))
    return written, rejected


def write_or_split(conn: psycopg.Connection, entries: Sequence[Entry], write=write_batch
                   ) -> tuple[int, list[tuple[Entry, str]]]:
    """`write(conn, entries)`; if PostgreSQL refuses the batch for its data, `write_each` instead.
    An error saying the store is unavailable propagates (the pipeline spills and retries)."""
    try:
        return write(conn, entries), []
    except Exception as exc:
        if not refused_for_its_data(conn, exc):
            raise
        return write_each(conn, entries, write)
