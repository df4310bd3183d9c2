"""Opening a PostgreSQL connection from a `postgresql://` URL, and saying plainly why one failed.

The password may come from the URL, from PGPASSWORD (libpq reads it itself), or from the
environment variable an operator names (`password_env`), so it need not sit in a config file or
a process list. It is never part of what llmlog prints: `safe_location` drops it from the URL and
every error names only host, port, database and user.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Dumper, PyFormat
from psycopg.conninfo import conninfo_to_dict

from ..interface import StoreError

CONNECT_TIMEOUT_S = 10


def _is_secret_key(key: str) -> bool:
    return "pass" in key.lower()  # password, and its misspellings libpq will quote back (Password=, passwd=)


def safe_location(url: str) -> str:
    """The URL without its password (in the user part or as a `password=`-like parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing of it is shown
        return url.split("://", 1)[0] + "://…"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}@{hosts}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_secret_key(k)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secrets_in(url: str) -> list[str]:
    """Every spelling of a password the URL carries (as written and percent-decoded), longest first:
    what an error message quoting the URL's pieces must not show."""
    found: list[str] = []
    netloc = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if "@" in netloc:
        userinfo = netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    query = url.split("?", 1)[1] if "?" in url else ""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if _is_secret_key(key):
            found.append(value)
    spelled = set(found) | {unquote(s) for s in found}
    return sorted((s for s in spelled if s), key=len, reverse=True)


def without_secrets(text: str, url: str) -> str:
    for secret in secrets_in(url):
        text = text.replace(secret, "***")
    return text


def describe(url: str) -> str:
    """'database D on host:port as user U': what a person needs to find the server, no secret."""
    try:
        info = conninfo_to_dict(url)
    except (psycopg.ProgrammingError, ValueError):
        return safe_location(url)
    host = info.get("host") or os.environ.get("PGHOST") or "localhost"
    port = info.get("port") or os.environ.get("PGPORT") or "5432"
    user = info.get("user") or os.environ.get("PGUSER") or ""
    dbname = info.get("dbname") or os.environ.get("PGDATABASE") or user
    return f"PostgreSQL database {dbname!r} on {host}:{port}" + (f" as user {user!r}" if user else "")


def first_line(exc: Exception) -> str:
    """The first line of a server's error message (its detail and hint lines may quote data)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _reason(exc: Exception) -> str:
    """libpq's first line of the error, which names the cause (refused, auth failed, no such database)."""
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line:
            # libpq prefixes 'connection to server at "h" (addr), port p failed: '; keep the cause
            return line.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    return type(exc).__name__


def _nul_safe(base: type[psycopg.abc.Dumper]) -> type[Dumper]:
    """`base` (a str dumper) storing NUL as U+FFFD: PostgreSQL text cannot hold NUL, which a JSON
    string (`\\u0000`) or a URL (`%00`) may carry. The writer stores it so, and a filter or id
    given with NUL then looks for what was stored instead of failing."""
    class NulSafe(Dumper):
        format = base.format
        oid = base.oid

        def __init__(self, cls: type, context: AdaptContext | None = None):
            super().__init__(cls, context)
            self._inner = base(cls, context)

        def dump(self, obj: str) -> Buffer | None:
            return self._inner.dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)
    NulSafe.__name__ = f"NulSafe{base.__name__}"
    return NulSafe


def connect(url: str, password_env: str | None = None) -> psycopg.Connection:
    """An autocommit connection (each method opens the transactions it needs); StoreError when the
    server cannot be reached, refuses the login or has no such database."""
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S, "application_name": "llmlog"}
    try:
        has_password = bool(conninfo_to_dict(url).get("password"))
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"cannot read the PostgreSQL URL {safe_location(url)}: "
                         f"{without_secrets(_reason(exc), url)}") from None
    if not has_password and password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise StoreError(f"the environment variable {password_env} (store password) is not set")
        kwargs["password"] = password
    try:
        conn = psycopg.connect(url, **kwargs)
    except (psycopg.Error, ValueError) as exc:
        reason = without_secrets(_reason(exc), url)
        if reason.startswith("database ") and reason.endswith("does not exist"):
            raise StoreError(f"no llmlog database: {describe(url)} does not exist "
                             "(create it, or check the URL)") from None
        raise StoreError(f"cannot connect to {describe(url)}: {reason}") from None
    for fmt in (PyFormat.TEXT, PyFormat.BINARY):
        conn.adapters.register_dumper(str, _nul_safe(conn.adapters.get_dumper(str, fmt)))
    return conn
