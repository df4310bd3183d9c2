"""Stores that go wrong on demand: the real SQLite and PostgreSQL stores, a few of whose methods
ask a `Faults` first. A disk that fills, a server that drops the connection or a read that fails
mid-export is a fault a test switches on and off while the app runs, without patching the classes.

`open_store(location, faults, **options)` opens one (the backend chosen by the location, as
store/backends.py chooses it); `opener(location, faults, **sizes)` is the same as the app's
`Seams(open_store=...)` wants it (the app passes only options). Sizes no setting names
(`compress_from_bytes`, `export_chunk_bytes`, PostgreSQL's `few_matches`) go to the real
constructors, which take them for tests. With `Faults()` every method does what the real one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from llmlog.store.backends import check_location, is_postgres
from llmlog.store.interface import Store
from llmlog.store.sqlite.store import SqliteStore


def passed_through(real: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The real method, unchanged: every fault's default."""
    return real(*args, **kwargs)


@dataclass
class Faults:
    """For each Store method named here, a function called in its place with the real (bound)
    method first, then the method's arguments. A test may replace one while the stores run."""

    write_batch: Callable[..., int] = passed_through  # (real, conn, batch): one transaction of the writer
    write_or_split: Callable[..., Any] = passed_through  # (real, batch): a whole batch, as copy-store writes
    export_batch: Callable[..., Any] = passed_through  # (real, filter, after, **options): one export read


class _Faulty:
    """Mixed in before a real store class: its methods named in Faults go through `faults`."""

    faults: Faults

    def write_batch(self, conn: Any, batch: Sequence[Any]) -> int:
        return self.faults.write_batch(super().write_batch, conn, batch)

    def write_or_split(self, batch: Sequence[Any]) -> Any:
        return self.faults.write_or_split(super().write_or_split, batch)

    def export_batch(self, f: Any, after: Any = None, **options: Any) -> Any:
        return self.faults.export_batch(super().export_batch, f, after, **options)


class FaultySqliteStore(_Faulty, SqliteStore):
    def __init__(self, path: str, faults: Faults, **options: Any):
        self.faults = faults
        super().__init__(path, **options)


@cache
def faulty_postgres_store() -> type:
    """FaultyPostgresStore, made at first use: the driver is loaded only by those who use it."""
    from llmlog.store.postgres.store import PostgresStore

    class FaultyPostgresStore(_Faulty, PostgresStore):
        def __init__(self, url: str, faults: Faults, **options: Any):
            self.faults = faults
            super().__init__(url, **options)

    return FaultyPostgresStore


def open_store(location: str, faults: Faults | None = None, *, create: bool = True, writer: bool = False,
               busy_timeout_ms: int | None = None, password_env: str | None = None, **sizes: Any) -> Store:
    """store/backends.py's `open_store`, the store faulty as `faults` says and built with `sizes`."""
    check_location(location)
    faults = faults if faults is not None else Faults()
    if is_postgres(location):
        return faulty_postgres_store()(location, faults, create=create, password_env=password_env, **sizes)
    return FaultySqliteStore(location, faults, create=create, writer=writer, busy_timeout_ms=busy_timeout_ms,
                             **sizes)


def opener(location: str, faults: Faults | None = None, **sizes: Any) -> Callable[..., Store]:
    """How the app opens its stores (`Seams(open_store=...)`): `location`'s, faulty and sized as given."""
    def open_(**options: Any) -> Store:
        return open_store(location, faults, **sizes, **options)
    return open_
