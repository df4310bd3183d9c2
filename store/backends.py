"""Which backend a store location names: a `postgresql://` URL, or else a SQLite file path."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from .interface import Store, StoreError
from .keyring import Keyring

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str) -> bool:
    return location.startswith(POSTGRES_SCHEMES)


def check_location(location: str) -> None:
    """A file path or a PostgreSQL URL; any other URL (or SQLite's `file:` URI form) is refused
    rather than taken for a file name and its directories made in the working directory."""
    if "://" in location and not is_postgres(location):
        scheme = location.split("://", 1)[0]
        raise StoreError(f"store location {printable(location)!r}: {scheme}:// is not a store llmlog "
                         "knows; give a SQLite file path or a postgresql:// URL")
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", location) and not is_postgres(location):
        raise StoreError(f"store location {printable(location)!r} looks like a URI; give a plain SQLite "
                         "file path (./ in front if the name has a colon) or a postgresql:// URL")


def printable(location: str) -> str:
    """The location with any password in it replaced by ***: safe for banners, logs and errors."""
    if "://" not in location:
        return location
    try:
        parts = urlsplit(location)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = "&".join((pair.split("=", 1)[0] + "=***" if "pass" in pair.split("=", 1)[0].lower() else pair)
                         for pair in parts.query.split("&")) if parts.query else ""
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # unparseable: show only the scheme
        return location.split("://", 1)[0] + "://…"


def open_store(location: str, *, create: bool = True, writer: bool = False,
               busy_timeout_ms: int | None = None, password_env: str | None = None,
               keyring: Keyring | None = None) -> Store:
    """Open (and, when `create`, create and migrate) the store at `location`; with `keyring`, its
    content is sealed as written and opened as read (store/sealing.py). Raises StoreError with a
    message a person can act on when it cannot be used."""
    check_location(location)
    if is_postgres(location):
        from .postgres.store import PostgresStore  # the driver is loaded only by those who use it
        return PostgresStore(location, create=create, password_env=password_env, keyring=keyring)
    from .sqlite.store import SqliteStore
    return SqliteStore(location, create=create, writer=writer, busy_timeout_ms=busy_timeout_ms, keyring=keyring)
