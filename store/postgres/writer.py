"""Writing batches of entries: COPY into `calls`, `call_content` and `call_tags` in one transaction.

Ids already stored are skipped, so a spill replayed after a crash never duplicates: the batch's
ids are looked up first (inside the transaction, confined to the batch's time span: a stored call
has the `started_at` its entry carries), and the rest go in by COPY, PostgreSQL's bulk path. The
same round trip asks whether the batch's weeks have their partitions (made first when one is
missing, store/postgres/partitions.py) and for its parents stored outside it. Two
writers storing the same id at the same moment (never the case for one proxy; conceivable for a
replay racing its own original) make the COPY fail on the primary key: that is a data error, so
`write_or_split` writes the batch one entry at a time, each skipping what is stored by then.

`root_id` and `depth` are filled as SQLite's writer fills them (store/sqlite/writer.py
store/hierarchy.py). Bodies are packed (store/bodies.py) and search documents made while the calls
rows stream to the server, which takes them in meanwhile: those are the client's largest costs.

PostgreSQL text cannot hold NUL characters, which a JSON string may carry (`\\u0000`); rather than
refuse such an entry, a NUL in a text column is stored as U+FFFD (store/postgres/connect.py). The
COPYs dump text with psycopg's own dumper, which refuses a NUL: such a batch is written again
with the connection's NUL-safe one (`_copy_cursor`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from psycopg.adapt import PyFormat

from ..bodies import COMPRESS_FROM_BYTES
from ..hierarchy import link_hierarchy, parents_outside
from ..interface import Refused
from ..keyring import Keyring
from ..rows import CALL_COLUMNS, CONTENT_COLUMNS, Entry, call_values, content_values
from ..sealing import stored_form
from . import partitions, search

_CONTENT_COPY = ("started_at", *CONTENT_COLUMNS, "search")
COPY_CALLS = f"COPY calls ({', '.join(CALL_COLUMNS)}) FROM STDIN"
COPY_CONTENT = f"COPY call_content ({', '.join(_CONTENT_COPY)}) FROM STDIN"
COPY_TAGS = "COPY call_tags (call_id, tag, started_at) FROM STDIN"
INSERT_KEY = "INSERT INTO content_keys (key_id) VALUES (%s) ON CONFLICT DO NOTHING"


# What a batch must know before its COPYs, asked in one round trip (a pipeline, inside the batch's
# transaction): which of its weeks' partitions are missing, which of its ids are stored (confined
# to the batch's time span: a stored call has the `started_at` its entry carries), and how its
# parents stored outside it are linked.
MISSING_PARTITIONS = "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(quote_ident(n)) IS NULL"
IDS_PRESENT = "SELECT id FROM calls WHERE id = ANY(%s) AND started_at BETWEEN %s AND %s"
PARENTS_STORED = "SELECT id, root_id, depth FROM calls WHERE id = ANY(%s)"


def _look_up(conn: psycopg.Connection, entries: Sequence[Entry], partition_names: list[str]
             ) -> tuple[bool, set[str], dict[str, tuple[str | None, int]]]:
    """(a partition is missing, ids already stored, parents outside the batch as stored)."""
    ids = [e.call["id"] for e in entries]
    times = [e.call["started_at"] for e in entries if isinstance(e.call["started_at"], int)]
    parents = list(parents_outside(entries))
    with conn.pipeline():
        missing = conn.execute(MISSING_PARTITIONS, (partition_names,)) if partition_names else None
        # without a time among them there is nothing to find: the COPY refuses them (started_at is NOT NULL)
        present = conn.execute(IDS_PRESENT, (ids, min(times), max(times))) if times else None
        stored = conn.execute(PARENTS_STORED, (parents,)) if parents else None
    return (missing is not None and bool(missing.fetchall()),
            set() if present is None else {row[0] for row in present},
            {} if stored is None else {cid: (root, depth) for cid, root, depth in stored})


_PLAIN_STR = {fmt: psycopg.adapters.get_dumper(str, fmt) for fmt in (PyFormat.TEXT, PyFormat.BINARY)}


def _copy_cursor(conn: psycopg.Connection, nul_safe: bool) -> psycopg.Cursor:
    """A cursor for the COPYs. Unless `nul_safe`, str is dumped by psycopg's own dumper instead of
    the connection's NUL-safe one (store/postgres/connect.py), which costs a Python call per value
    (~3 µs a row, bench/bench_writer.py); psycopg's refuses a NUL (a DataError raised before the
    row is sent), and the batch is then written again with `nul_safe`."""
    cur = conn.cursor()
    if not nul_safe:
        for dumper in _PLAIN_STR.values():
            cur.adapters.register_dumper(str, dumper)
    return cur


def _copy(conn: psycopg.Connection, new: Sequence[Entry], nul_safe: bool, compress_from_bytes: int,
          keyring: Keyring | None) -> None:
    """COPY the new entries' calls, content and tags. The key ids of sealed content are remembered
    first (store/sealing.py): `llmlog rekey` forgets an id under a table lock, which this waits for."""
    content_rows: list[tuple[object, ...]] = []
    sealing = None if keyring is None else keyring.newest.id
    key_ids = sorted({key for e in new if e.content is not None and (key := e.content.get("key_id") or sealing)})
    if key_ids:
        with conn.cursor() as cur:
            cur.executemany(INSERT_KEY, [(key,) for key in key_ids])
    with _copy_cursor(conn, nul_safe) as cur:
        with cur.copy(COPY_CALLS) as copy:
            for entry in new:
                call = entry.call
                copy.write_row(call_values(call))
                content = entry.content
                if content is not None:
                    # made here, while the server takes in the calls rows sent so far: bodies
                    # packed (store/bodies.py), content sealed with a keyring (store/sealing.py) and
                    # the search document (none for sealed content: its words would be in clear),
                    # the client's largest costs
                    stored = stored_form(content, keyring, compress_from_bytes)
                    document = None if stored.get("key_id") is not None else search.document(
                        content.get("prompt_text"), content.get("output_text"))
                    content_rows.append((call["started_at"], *content_values(stored), document))
        if content_rows:
            with cur.copy(COPY_CONTENT) as copy:
                for row in content_rows:
                    copy.write_row(row)
        tag_rows = [(e.call["id"], tag, e.call["started_at"]) for e in new for tag in e.tags]
        if tag_rows:
            with cur.copy(COPY_TAGS) as copy:
                for row in tag_rows:
                    copy.write_row(row)


class _WeeksMissing(Exception):
    """A week of the batch has no partitions (yet)."""


def write_batch(conn: psycopg.Connection, entries: Sequence[Entry], *,
                compress_from_bytes: int = COMPRESS_FROM_BYTES, keyring: Keyring | None = None) -> int:
    """Insert entries in one transaction; ids already stored are skipped. Returns how many were new.
    Bodies reaching `compress_from_bytes` are packed (store/bodies.py); with a `keyring` content is
    sealed (store/sealing.py)."""
    if not entries:
        return 0
    started = [e.call["started_at"] for e in entries]
    names = [name for _, _, name in partitions.weeks_wanted(started)]
    make_weeks, nul_safe = True, False
    while True:
        try:
            with conn.transaction():
                missing, present, stored = _look_up(conn, entries, names)
                if missing and make_weeks:
                    raise _WeeksMissing()
                fresh: dict[str, Entry] = {}
                for entry in entries:
                    if entry.call["id"] not in present:
                        fresh.setdefault(entry.call["id"], entry)
                new = list(fresh.values())
                if new:
                    link_hierarchy(new, stored)
                    _copy(conn, new, nul_safe, compress_from_bytes, keyring)
                return len(new)
        except _WeeksMissing:
            # made in a transaction of their own (store/postgres/partitions.py), then the batch
            # starts again; should one be gone again by then (retention racing), its rows go to
            # the default partition
            partitions.ensure_weeks(conn, started)
            make_weeks = False
        except psycopg.DataError as exc:
            if nul_safe or exc.sqlstate:  # the server's refusal, or one the NUL-safe dumper makes too
                raise
            nul_safe = True  # refused before it was sent (a NUL in a text value): again, NUL-safe


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
        return exc.sqlstate is not None and exc.sqlstate[:2] in DATA_CLASSES
    if isinstance(exc, psycopg.Error) and exc.sqlstate:
        return exc.sqlstate[:2] in DATA_CLASSES
    return True  # refused before it reached the server: a value psycopg cannot send


Write = Callable[[psycopg.Connection, Sequence[Entry]], int]  # write_batch, or a test's seam around it


def write_each(conn: psycopg.Connection, entries: Sequence[Entry], write: Write = write_batch) -> tuple[int, Refused]:
    """After a batch failed on its data, write entries one by one so one bad entry cannot hold
    back the rest. Returns (new entries, [(entry, reason) refused]); availability errors propagate."""
    written = 0
    rejected: Refused = []
    for entry in entries:
        try:
            written += write(conn, [entry])
        except Exception as exc:
            if not refused_for_its_data(conn, exc):
                raise
            rejected.append((entry, f"{type(exc).__name__}: {exc}"))
    return written, rejected


def write_or_split(conn: psycopg.Connection, entries: Sequence[Entry], write: Write = write_batch
                   ) -> tuple[int, Refused]:
    """`write(conn, entries)`; if PostgreSQL refuses the batch for its data, `write_each` instead.
    An error saying the store is unavailable propagates (the pipeline spills and retries)."""
    try:
        return write(conn, entries), []
    except Exception as exc:
        if not refused_for_its_data(conn, exc):
            raise
        return write_each(conn, entries, write)
