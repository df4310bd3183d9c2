"""Append-only spill file: entries that could not be written to the database yet.

Each record is one line framed as `RS <length> <crc32> <json> LF` (RS is 0x1E, the record
separator of RFC 7464, which JSON text never holds unescaped). A record cut short by a full disk
or a crash fails its length or checksum and is skipped on replay, alone: the next record starts at
the next RS, even when it was appended straight after the torn bytes. Lines of the earlier
unframed format (one bare JSON object per line) still replay. Replay writes records through the
normal batch path, which skips ids already stored, so a crash between replay and truncation, or a
batch appended twice after a failed write, never duplicates an entry.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import orjson

from .interface import Refused
from .keyring import Keyring
from .rows import Entry
from .sealing import stored_form

OnRefused = Callable[[Refused], None]  # told of the entries a replay's write refused


class Writes(Protocol):
    """What a replay writes through: a Store, or another worker's writer (proxy/workers/)."""

    def write_or_split(self, entries: Sequence[Entry]) -> tuple[int, Refused]: ...

REPLAY_BATCH = 500
RS = b"\x1e"
LEGACY_START = b'{"call":'  # every unframed record opened so; a raw `"` never occurs inside a JSON string
log = logging.getLogger("llmlog.store")


def spill_path_for(db_path: str) -> str:
    """The default spill file: beside the database."""
    return db_path + ".spill"


def frame(payload: bytes) -> bytes:
    """One spill record: RS, payload length, CRC-32 of the payload, payload, LF."""
    return b"%s%d %08x %s\n" % (RS, len(payload), zlib.crc32(payload), payload)


def unframe(piece: bytes) -> bytes | None:
    """The payload of one record (the bytes after its RS, LF removed), or None when torn."""
    length, _, rest = piece.partition(b" ")
    crc, _, payload = rest.partition(b" ")
    try:
        if int(length) == len(payload) and int(crc, 16) == zlib.crc32(payload):
            return payload
    except ValueError:
        pass
    return None


def at_rest(entry: Entry, keyring: Keyring | None) -> Entry:
    """The entry as a file may hold it: with a keyring its content sealed (bodies packed first, as
    the store holds them: store/sealing.py), so no spill or rejected record holds content in clear.
    Content already sealed (a record replayed, then spilled again) is kept as it is."""
    if keyring is None or entry.content is None:
        return entry
    return Entry(call=entry.call, content=stored_form(entry.content, keyring), tags=entry.tags)


def record(entry: Entry, keyring: Keyring | None) -> bytes:
    """One entry as one spill record (framed, sealed with `keyring`): the spill file holds these, and
    so do the frames a worker passes the lead worker (proxy/workers/), so there is one encoding."""
    return frame(orjson.dumps(at_rest(entry, keyring).to_record()))


def read_record(piece: bytes) -> Entry | None:
    """The entry of one framed record (the bytes after its RS, LF removed), or None when it is torn
    or does not hold an entry."""
    payload = unframe(piece)
    if payload is None:
        return None
    try:
        return Entry.from_record(orjson.loads(payload))
    except (ValueError, KeyError, TypeError, AttributeError):  # JSONDecodeError is a ValueError
        return None


def read_records(data: bytes) -> list[Entry | None] | None:
    """The records of `data` (what `record` made, one after another), each an entry or None where it
    cannot be read; None when `data` is not a run of records at all (bytes before the first RS)."""
    before, *pieces = data.split(RS)
    if before or not pieces:
        return None
    return [read_record(piece[:-1] if piece.endswith(b"\n") else piece) for piece in pieces]


def _rejected_line(entry: Entry, reason: str) -> bytes:
    try:
        return orjson.dumps({**entry.to_record(), "reason": reason}) + b"\n"
    except TypeError:  # not even JSON can hold it: keep the id and the reason
        return orjson.dumps({"id": str(entry.call.get("id")), "reason": reason}) + b"\n"


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


def append_durably(path: str, data: bytes) -> None:
    """Append all of `data` to `path` and fsync, or raise OSError having appended nothing.

    A write may be cut short (the disk filled mid-record): the loop writes the rest, and when a
    write fails the file is cut back to where this append began, so no torn record stays behind
    for the caller to retry over. If even that fails, the framing makes replay skip it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(28, "write made no progress (disk full?)", path)
                view = view[written:]
            os.fsync(fd)
        except OSError:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                try:
                    os.ftruncate(fd, start)
                except OSError as exc:
                    log.warning("could not cut a torn record from %s (%s); replay will skip it", path, exc)
            raise
    finally:
        os.close(fd)


class SpillFile:
    def __init__(self, path: str, keyring: Keyring | None = None):
        """`keyring`: content is sealed before it is appended (`at_rest`)."""
        self.path = path
        self.keyring = keyring
        self.torn = 0  # records skipped by completed replays as torn or unreadable, since this object was made
        self._torn_now = 0  # in the replay under way (a replay that fails is done again whole)
        # the overflow task and the writer both append; one at a time, so a cut-back cuts only its own
        self._lock = threading.Lock()

    def append(self, entries: Iterable[Entry]) -> int:
        """Append entries durably (fsync), all or none; returns how many were written.
        Raises OSError (disk full, ...) or TypeError (an entry JSON cannot hold)."""
        records = [record(e, self.keyring) for e in entries]
        if not records:
            return 0
        with self._lock:
            # made at the first spill: beside a SQLite file it exists; for a PostgreSQL store the
            # spill lives in llmlog's data directory, which a fresh machine may not have yet
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            append_durably(self.path, b"".join(records))
        return len(records)

    @property
    def rejected_path(self) -> str:
        return self.path + ".rejected"

    def reject(self, rejected: Refused) -> int:
        """Entries the database refused for their data: kept aside for a person, never retried."""
        data = b"".join(_rejected_line(at_rest(e, self.keyring), reason) for e, reason in rejected)
        if data:
            append_durably(self.rejected_path, data)
        return len(rejected)

    def _write(self, store: Writes, batch: list[Entry], on_refused: OnRefused | None) -> int:
        written, refused = store.write_or_split(batch)
        if refused:
            self.reject(refused)
            if on_refused is not None:
                on_refused(refused)
        return written

    @property
    def _replaying(self) -> str:
        return self.path + ".replaying"

    def pending(self) -> bool:
        # only a regular file is ever renamed and replayed: a spill path like /dev/full never is
        return any(_is_regular(p) and os.path.getsize(p) > 0 for p in (self.path, self._replaying))

    def _legacy(self, line: bytes) -> Iterator[Entry]:
        """An unframed line of the earlier format. A torn record followed on the same line by the
        next one (appended after a crash) costs only the torn one."""
        if not line.strip():
            return
        try:
            yield Entry.from_record(orjson.loads(line))
            return
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            pass
        self._torn_now += 1
        start = line.find(LEGACY_START, 1)
        if start > 0:
            yield from self._legacy(line[start:])

    def _records(self, path: str) -> Iterator[Entry]:
        with open(path, "rb") as handle:
            for line in handle:
                legacy, *framed = line.rstrip(b"\n").split(RS)
                yield from self._legacy(legacy)
                for piece in framed:
                    entry = read_record(piece)
                    if entry is None:
                        self._torn_now += 1
                        log.warning("skipped a torn spill record in %s (%d bytes)", path, len(piece) + 1)
                        continue
                    yield entry

    def replay(self, store: Writes, on_refused: OnRefused | None = None) -> int:
        """Write every spilled entry to the database, then remove them; returns entries new.

        The file is first renamed aside, so appends that race with the replay land in a fresh
        file; a crash mid-replay leaves the renamed file, which the next replay finishes, as it does
        when a write raises (StoreReplaced included: what was written went to a replaced file).
        """
        if not self.pending():
            return 0
        if not _is_regular(self._replaying):
            os.replace(self.path, self._replaying)
        written, batch, self._torn_now = 0, [], 0
        for entry in self._records(self._replaying):
            batch.append(entry)
            if len(batch) >= REPLAY_BATCH:
                written += self._write(store, batch, on_refused)
                batch = []
        written += self._write(store, batch, on_refused)
        os.remove(self._replaying)
        self.torn += self._torn_now
        return written
