"""Which worker this process is, and what that makes it do: pure facts read from the settings.

Worker 0 is the lead: it alone writes a SQLite database (the others pass it their entries over a
Unix socket beside the database) and it alone runs the store's background jobs. With PostgreSQL
every worker writes through its own connection; background jobs still run in the lead only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass

from llmlog.store.backends import is_postgres

# The longest path a Unix socket can be bound to (sun_path holds 108 bytes with its NUL on Linux;
# 104 on macOS): a database deeper than that gets its socket in the temporary directory instead.
SOCKET_PATH_MAX = 103


@dataclass(frozen=True, slots=True)
class Worker:
    """This process's place among `count` workers (index 0 of 1: plain `serve`, one process)."""

    index: int = 0
    count: int = 1

    @property
    def lead(self) -> bool:
        return self.index == 0


SOLO = Worker()


def sends_to_lead(worker: Worker, db_path: str) -> bool:
    """True when this worker's entries go to the lead rather than to a writer of its own: a worker
    other than the lead, on SQLite (which wants one writer)."""
    return worker.count > 1 and not worker.lead and not is_postgres(db_path)


def lead_writes_for_others(worker: Worker, db_path: str) -> bool:
    """True when this worker is the lead of several on SQLite: it takes the others' entries."""
    return worker.count > 1 and worker.lead and not is_postgres(db_path)


def worker_spill_path(spill_path: str, worker: Worker) -> str:
    """Each worker's own spill file: the configured one for the lead (and for one process),
    `<spill>.w<index>` for the others, so no two processes ever append to or replay one file."""
    return spill_path if worker.lead else f"{spill_path}.w{worker.index}"


def orphaned_spill_paths(spill_path: str, worker: Worker, names: list[str]) -> list[str]:
    """Spill files of workers this start has none of (`names`: the spill file's directory): a run with
    more workers was stopped before they could replay them. The lead replays them; no other process
    ever will. `<spill>.w<index>` and its `.replaying` stand for one file (store/spill.py)."""
    if not worker.lead:
        return []
    base = os.path.basename(spill_path) + ".w"
    indexes = set()
    for name in names:
        if name.startswith(base):
            index = name[len(base):].removesuffix(".replaying")
            if index.isdigit() and int(index) >= worker.count:
                indexes.add(int(index))
    return [f"{spill_path}.w{index}" for index in sorted(indexes)]


def ingest_path(db_path: str) -> str:
    """The lead's Unix socket for the other workers' entries: beside the database
    (`<db>.workers.sock`); for a database path too long to name a socket, a name in the temporary
    directory of this user's (0700), named from the database's absolute path."""
    path = os.path.abspath(db_path) + ".workers.sock"
    if len(os.fsencode(path)) <= SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(os.path.abspath(db_path))).hexdigest()[:24]
    return os.path.join(private_socket_directory(), f"{digest}.sock")


def private_socket_directory() -> str:
    """Where sockets of databases too deep to have one beside them go: a directory of this user's
    in the temporary directory (made 0700 by the lead, proxy/workers/ingest.py)."""
    return os.path.join(tempfile.gettempdir(), f"llmlog-{os.getuid()}")
