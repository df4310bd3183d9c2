"""Which backend a store location names: a `postgresql://` URL, or else a SQLite file path."""

from __future__ import annotations

from .interface import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str) -> bool:
    return location.startswith(POSTGRES_SCHEMES)


def open_store(location: str, *, create: bool = True, writer: bool = False,
               busy_timeout_ms: int | None = None, password_env: str | None = None) -> Store:
    """Open (and, when `create`, create and migrate) the store at `location`. Raises StoreError
    with a message a person can act on when it cannot be used."""
    if is_postgres(location):
        from .postgres.store import PostgresStore  # the driver is loaded only by those who use it
        return PostgresStore(location, create=create, password_env=password_env)
    from .sqlite.store import SqliteStore
    return SqliteStore(location, create=create, writer=writer, busy_timeout_ms=busy_timeout_ms)
