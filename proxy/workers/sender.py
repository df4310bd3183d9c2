"""A worker's side of the lead's socket: its batches go to the lead's writer instead of a store.

`LeadLink.write_or_split` has the store's signature and promise (written, refused), so the pipeline
writes through it and the spill file replays through it as they do through a store; it blocks, on
a thread of its own (`Sender`). A lead that cannot be reached, or does not answer within the
timeout, raises LeadUnavailable: the pipeline then appends the batch to this worker's own spill
file and replays it through the lead once it answers again. A batch the lead may have written
before its answer was lost is sent again on replay, and the lead skips ids already stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from llmlog.proxy.settings import Settings
from llmlog.proxy.workers.frames import (
    HEADER,
    MAX_ANSWER_BYTES,
    MAX_FRAME_BYTES,
    BadAnswer,
    framed,
    peer_uid,
    read_answer,
)
from llmlog.proxy.workers.role import Worker, ingest_path, sends_to_lead
from llmlog.store.interface import Refused, StoreError
from llmlog.store.keyring import Keyring
from llmlog.store.rows import Entry
from llmlog.store.runner import lower_this_threads_priority, name_this_thread
from llmlog.store.spill import OnRefused, SpillFile, record

log = logging.getLogger("llmlog.workers")
CONNECT_TIMEOUT_S = 2.0
# After the lead failed to take a batch, the next ones go straight to the spill file for this long
# instead of each waiting out the answer timeout: a hung lead must not leave answered calls in memory
DOWN_FOR_S = 1.0


class LeadUnavailable(StoreError):
    """The lead did not take a batch: unreachable, gone mid-answer, too slow, or its store failed."""


class LeadLink:
    """One connection to the lead's socket, opened when first needed and again after a failure."""

    def __init__(self, path: str, keyring: Keyring | None, *, answer_timeout_s: float,
                 max_frame_bytes: int = MAX_FRAME_BYTES):
        self.path, self.keyring = path, keyring
        self.answer_timeout_s, self.max_frame_bytes = answer_timeout_s, max_frame_bytes
        self._sock: socket.socket | None = None
        self._down_until = 0.0  # monotonic time before which the lead is taken to be away

    def write_or_split(self, entries: Sequence[Entry]) -> tuple[int, Refused]:
        """Send `entries` (in frames of at most max_frame_bytes) and return what the lead wrote and
        refused. An entry too big for a frame on its own is refused here, with its reason."""
        if time.monotonic() < self._down_until:
            raise LeadUnavailable(f"the lead worker did not answer on {self.path} a moment ago")
        written, refused = 0, list[tuple[Entry, str]]()
        for sent, payload in self._frames(entries, refused):
            written_now, refused_now = self._exchange(payload, len(sent))
            written += written_now
            refused += [(sent[index], reason) for index, reason in refused_now]
        return written, refused

    def _frames(self, entries: Sequence[Entry], refused: Refused) -> Iterator[tuple[list[Entry], bytes]]:
        """(entries, payload) for each frame: the entries' records, up to the frame limit."""
        batch: list[Entry] = []
        records: list[bytes] = []
        size = 0
        for entry in entries:
            data = record(entry, self.keyring)
            if len(data) > self.max_frame_bytes:
                refused.append((entry, f"too large to pass to the lead worker ({len(data)} bytes, "
                                       f"at most {self.max_frame_bytes})"))
                continue
            if size + len(data) > self.max_frame_bytes:
                yield batch, b"".join(records)
                batch, records, size = [], [], 0
            batch.append(entry)
            records.append(data)
            size += len(data)
        if batch:
            yield batch, b"".join(records)

    def _connected(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CONNECT_TIMEOUT_S)
            try:
                sock.connect(self.path)
                owner = peer_uid(sock)
                if owner is not None and owner != os.getuid():  # someone else took the path: never hand it entries
                    raise PermissionError(f"the socket is served by user {owner}, not this one")
            except OSError:
                sock.close()
                raise
            sock.settimeout(self.answer_timeout_s)
            self._sock = sock
        return self._sock

    def _exchange(self, payload: bytes, records: int) -> tuple[int, list[tuple[int, str]]]:
        try:
            sock = self._connected()
            sock.sendall(framed(payload))
            size = HEADER.unpack(self._read(sock, HEADER.size))[0]
            if size > MAX_ANSWER_BYTES:
                raise BadAnswer(f"an answer of {size} bytes")
            outcome = read_answer(self._read(sock, size), records)
        except (OSError, BadAnswer) as exc:  # socket.timeout is an OSError
            self.close()
            self._down_until = time.monotonic() + DOWN_FOR_S
            raise LeadUnavailable(f"the lead worker is not answering on {self.path} "
                                  f"({type(exc).__name__}: {exc})") from None
        if isinstance(outcome, str):
            raise LeadUnavailable(f"the lead worker could not write them: {outcome}")
        return outcome

    @staticmethod
    def _read(sock: socket.socket, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = sock.recv(min(size - len(data), 1 << 20))
            if not chunk:
                raise ConnectionResetError("the lead closed the connection")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()


class Sender:
    """The pipeline's `write` and `replay` (proxy/pipeline/worker.py) through a LeadLink, on one
    thread that runs below the event loop's priority, as the store's writer thread does."""

    def __init__(self, link: LeadLink, *, nice: int = 0):
        self.link = link
        self._nice = nice
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmlog-sender",
                                            initializer=self._started)

    def _started(self) -> None:
        name_this_thread("llmlog-sender")
        lower_this_threads_priority(self._nice)

    async def write(self, entries: list[Entry]) -> tuple[int, Refused]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.link.write_or_split, entries)

    async def replay(self, spill: SpillFile, on_refused: OnRefused) -> int:
        return await asyncio.get_running_loop().run_in_executor(self._executor, spill.replay, self.link, on_refused)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self.link.close)
        self._executor.shutdown(wait=True)


def sender_for(config: Settings, worker: Worker) -> Sender | None:
    """How this worker's batches reach the lead's writer (`serve --workers` on SQLite); None when
    it writes them itself (one process, the lead, or PostgreSQL)."""
    if not sends_to_lead(worker, config.db_path):
        return None
    # longer than the lead's own wait for a locked database: a store that is slow answers with its error
    timeout_s = max(10.0, config.store.busy_timeout_ms / 1000 + 5.0)
    return Sender(LeadLink(ingest_path(config.db_path), config.keyring, answer_timeout_s=timeout_s),
                  nice=config.store.writer_nice)
