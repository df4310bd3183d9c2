"""Append-only spill file beside the database: entries that could not be written yet.

Each line is one JSON record. Replay writes them through the normal batch path, which skips ids
already stored, so a crash between replay and truncation never duplicates an entry.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Iterable, Iterator

import orjson

from .rows import Entry
from .writer import write_or_split

REPLAY_BATCH = 500


def spill_path_for(db_path: str) -> str:
    return db_path + ".spill"


def _rejected_line(entry: Entry, reason: str) -> bytes:
    try:
        return orjson.dumps({**entry.to_record(), "reason": reason}) + b"\n"
    except TypeError:  # not even JSON can hold it: keep the id and the reason
        return orjson.dumps({"id": str(entry.call.get("id")), "reason": reason}) + b"\n"


class SpillFile:
    def __init__(self, path: str):
        self.path = path

    def append(self, entries: Iterable[Entry]) -> int:
        """Append entries durably (fsync); returns how many were written."""
        data = b"".join(orjson.dumps(e.to_record()) + b"\n" for e in entries)
        if not data:
            return 0
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return data.count(b"\n")

    @property
    def rejected_path(self) -> str:
        return self.path + ".rejected"

    def reject(self, rejected: list[tuple[Entry, str]]) -> int:
        """Entries the database refused for their data: kept aside for a person, never retried."""
        data = b"".join(_rejected_line(e, reason) for e, reason in rejected)
        if data:
            fd = os.open(self.rejected_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        return len(rejected)

    def _write(self, conn: sqlite3.Connection, batch: list[Entry], on_refused) -> int:
        written, refused = write_or_split(conn, batch)
        if refused:
            self.reject(refused)
            if on_refused is not None:
                on_refused(refused)
        return written

    @property
    def _replaying(self) -> str:
        return self.path + ".replaying"

    def pending(self) -> bool:
        return any(os.path.exists(p) and os.path.getsize(p) > 0 for p in (self.path, self._replaying))

    @staticmethod
    def _records(path: str) -> Iterator[Entry]:
        with open(path, "rb") as handle:
            for line in handle:
                try:
                    yield Entry.from_record(orjson.loads(line))
                except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                    continue  # a torn last line from a crash mid-append: the rest still counts

    def replay(self, conn: sqlite3.Connection, on_refused=None) -> int:
        """Write every spilled entry to the database, then remove them; returns entries new.

        The file is first renamed aside, so appends that race with the replay land in a fresh
        file; a crash mid-replay leaves the renamed file, which the next replay finishes.
        """
        if not self.pending():
            return 0
        if not os.path.exists(self._replaying):
            os.replace(self.path, self._replaying)
        written, batch = 0, []
        for entry in self._records(self._replaying):
            batch.append(entry)
            if len(batch) >= REPLAY_BATCH:
                written += self._write(conn, batch, on_refused)
                batch = []
        written += self._write(conn, batch, on_refused)
        os.remove(self._replaying)
        return written
