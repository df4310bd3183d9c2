"""The lead's side: a Unix socket beside the database where the other workers hand in their batches.

Each frame is written by the lead's own writer thread through `Store.write_or_split` (one writer
for SQLite, as with one process), then answered with what was written and refused. The socket is
made 0600, and a peer of another user is turned away, so only this user's processes can hand in
entries. What arrives is still untrusted: a frame's length is bounded before it is read, a frame
that holds no records is refused with a log line, and a record that cannot be read is refused on
its own (the worker keeps it in its `.rejected` file); nothing a peer sends can stop the lead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
from collections.abc import Callable
from contextlib import suppress

from aiohttp import web

from llmlog.proxy.metrics import Metrics
from llmlog.proxy.workers.child import other_workers_alive
from llmlog.proxy.workers.frames import HEADER, MAX_FRAME_BYTES, answer, error_answer, peer_uid
from llmlog.proxy.workers.role import ingest_path, private_socket_directory
from llmlog.store.interface import Store, StoreError
from llmlog.store.runner import StoreThread
from llmlog.store.spill import read_records

log = logging.getLogger("llmlog.workers")
UNREADABLE = "unreadable record"
CLOSE_WAIT_S = 10.0
# At the lead's stop, how long it keeps taking batches while other workers still run: they flush
# into it as they stop, whatever order the stop signals came in (a service manager signals all at once)
OTHERS_WAIT_S = 60.0
MAX_CONNECTIONS = 256  # far more than workers (at most 64, one connection each); beyond it a connection is closed


class MalformedFrame(ValueError):
    """A frame that is not a run of spill records."""


def write_frame(store: Store, payload: bytes) -> tuple[int, list[tuple[int, str]]]:
    """On the writer thread: the frame's records decoded and written; (written, [(index, reason)])."""
    records = read_records(payload)
    if records is None:
        raise MalformedFrame("not a run of spill records")
    entries = [entry for entry in records if entry is not None]
    refused = [(index, UNREADABLE) for index, entry in enumerate(records) if entry is None]
    written, rejected = store.write_or_split(entries) if entries else (0, [])
    if rejected:
        index_of = {id(entry): index for index, entry in enumerate(records)}
        refused += [(index_of[id(entry)], reason) for entry, reason in rejected]
    return written, refused


def private_directory(directory: str) -> None:
    """For a socket in the temporary directory (a database path too long to name one beside it):
    its own directory, this user's and 0700, so nobody else can take the name while it is away."""
    if directory != private_socket_directory():
        return
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise StoreError(f"{directory} must be a directory of this user's that nobody else can open (chmod 700)")


def bind_ingest(path: str) -> socket.socket:
    """A listening socket at `path`, 0600 before anyone can connect. A stale socket left by a lead
    that died is replaced; a path that is something else, or a socket a live lead answers on, is a
    StoreError (one line at start)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        if not stat.S_ISSOCK(mode):
            raise StoreError(f"{path} exists and is not a socket: llmlog --workers passes entries to its lead "
                             "worker there; move it away")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:  # nobody listens: left by a lead that died
            os.remove(path)
        else:
            raise StoreError(f"another llmlog with --workers writes this database (its lead answers on {path})")
        finally:
            probe.close()
    private_directory(os.path.dirname(path))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o600)  # before listen(): until then a connect is refused
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise StoreError(f"cannot open the workers' socket {path}: {exc.strerror or exc}") from None
    return sock


class Ingest:
    """The lead's server on its socket; `written` counts the entries it wrote for other workers."""

    def __init__(self, writer: StoreThread, metrics: Metrics, *, max_frame_bytes: int = MAX_FRAME_BYTES):
        self.writer, self.metrics, self.max_frame_bytes = writer, metrics, max_frame_bytes
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task] = {}
        self._refusing = False  # said once per run of refused connections

    async def start(self, path: str) -> None:
        self.path = path
        self._server = await asyncio.start_unix_server(self._serve, sock=bind_ingest(path))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= MAX_CONNECTIONS:
            if not self._refusing:
                log.warning("more than %d connections on %s; closing new ones", MAX_CONNECTIONS, self.path)
            self._refusing = True
            writer.close()
            return
        self._refusing = False
        task = asyncio.current_task()
        if task is not None:
            self._connections[writer] = task
        try:
            uid = peer_uid(writer.get_extra_info("socket"))
            if uid is not None and uid != os.getuid():
                log.warning("refused a connection to %s from user %d", self.path, uid)
                return
            while True:
                size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
                if not 0 < size <= self.max_frame_bytes:
                    log.warning("refused a frame of %d bytes on %s (at most %d); closing its connection",
                                size, self.path, self.max_frame_bytes)
                    return
                writer.write(await self._answer(await reader.readexactly(size)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away (it spills what it had not been told was written)
        except Exception:  # nothing a peer sends may stop the lead
            log.exception("the workers' socket %s failed on a connection", self.path)
        finally:
            writer.close()
            self._connections.pop(writer, None)

    async def _answer(self, payload: bytes) -> bytes:
        try:
            written, refused = await self.writer.run(lambda store: write_frame(store, payload))
        except MalformedFrame as exc:
            log.warning("refused a malformed frame of %d bytes on %s: %s", len(payload), self.path, exc)
            return error_answer(f"malformed frame: {exc}")
        except Exception as exc:  # the store failed: the worker spills the batch and replays it later
            return error_answer(f"{type(exc).__name__}: {exc}")
        self.metrics.entries_written_for_workers += written
        return answer(written, refused)

    async def close(self) -> None:
        deadline = asyncio.get_running_loop().time() + OTHERS_WAIT_S
        while other_workers_alive() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        if self._server is not None:
            self._server.close()
            # connections still open end as their reads do (a batch being written is answered first)
            for writer in list(self._connections):
                writer.close()
            if self._connections:
                await asyncio.wait(list(self._connections.values()), timeout=CLOSE_WAIT_S)
            await self._server.wait_closed()
            with suppress(FileNotFoundError):
                os.remove(self.path)


def ingest_ctx(db_path: str, writer_of: Callable[[web.Application], StoreThread],
               metrics_of: Callable[[web.Application], Metrics]):
    """A cleanup_ctx, after the store's: the socket listens before the lead is ready (the other
    workers start after it) and closes before the writer does."""
    async def ctx(app: web.Application):
        ingest = Ingest(writer_of(app), metrics_of(app))
        await ingest.start(ingest_path(db_path))
        yield
        await ingest.close()

    return ctx
