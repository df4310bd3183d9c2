"""`llmlog serve`: the proxy and the logs API in one process."""

from __future__ import annotations

import errno
import gc
import ipaddress
import logging
import socket
from dataclasses import replace
from typing import Any

import click

from llmlog.proxy.cli.common import config_options, installed_version, load
from llmlog.proxy.cli.flags import overrides, setting_options
from llmlog.proxy.settings import UPSTREAM_ENV, Settings
from llmlog.store.backends import printable
from llmlog.store.interface import StoreError

# Young objects are collected every 20,000 allocations instead of 700: as cheap as no collector,
# while cyclic garbage is still reclaimed (bench/README.md, "Measurements behind constants").
GC_THRESHOLDS = (20_000, 20, 20)
# why a port cannot be listened on, in words (asyncio's own message is a paragraph)
LISTEN_ERRORS: dict[int | None, str] = {errno.EADDRINUSE: "address already in use (another llmlog, or pass --port)",
                 errno.EADDRNOTAVAIL: "no such address on this machine",
                 errno.EACCES: "permission denied (ports below 1024 need privileges)"}


def tune_gc() -> None:
    """Move everything alive after start-up (modules, price table, app) out of the collector's
    sight, and collect young objects less often: a proxy allocates many short-lived objects
    per call and creates few reference cycles."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def bind_any_free_port(host: str) -> socket.socket:
    """A listening socket on `host` at a port the system chooses (`--port 0`), bound before the
    server starts so that the banner, and the settings (a PostgreSQL spill file is named after the
    port), give the port actually in use. One address: aiohttp would bind each address `host`
    resolves to (localhost: ::1 and 127.0.0.1), each at a port of its own."""
    family, _, _, _, address = socket.getaddrinfo(host or None, 0, type=socket.SOCK_STREAM,
                                                  flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address[:2], family=family)


def cannot_listen(exc: OSError, host: str, port: int) -> click.ClickException:
    """One line for a server that could not start: the listening socket in words, or the error."""
    if isinstance(exc, socket.gaierror) or exc.errno in LISTEN_ERRORS:
        reason = LISTEN_ERRORS.get(exc.errno) or exc.strerror or str(exc)
        return click.ClickException(f"cannot listen on {host}:{port}: {reason}")
    return click.ClickException(f"cannot start: {exc}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_banner(config: Settings, host: str, port: int) -> str:
    """What `serve` prints once it listens: where calls go in, where the logs page is, where entries
    are written and each provider by its prefix. A wildcard address is shown as loopback, which a
    browser on this machine can open."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    width = max(len(p.name) for p in config.providers)
    lines = [f"llmlog {installed_version()}: proxying on {base}",
             f"  logs page  {base}/ui",
             f"  database   {printable(config.db_path)}"]
    lines += [f"  provider   {p.name:<{width}}  {base}{p.prefix} → {p.base_url}" for p in config.providers]
    lines.append(f"  privacy    {privacy_summary(config)}")
    return "\n".join(lines)


def privacy_summary(config: Settings) -> str:
    """What happens to personal data in stored calls, in a few words (never a key, only its id)."""
    privacy, keyring = config.privacy, config.keyring
    parts = ["personal data counted" if privacy.detect_pii else "personal data not looked for"]
    if privacy.redact:
        parts.append(f"{', '.join(privacy.redact)} redacted")
    parts.append("content in clear" if keyring is None else
                 f"content encrypted with key {keyring.newest.id}"
                 + (f" ({len(keyring.ids) - 1} older key(s) to decrypt)" if len(keyring.ids) > 1 else ""))
    return "; ".join(parts)


@click.command()
@config_options
@setting_options(skip=("store.path",))  # --host, --port, --insecure; config_options has --db
@click.option("--upstream", help="Base URL of the default provider, e.g. http://127.0.0.1:8000 for vLLM "
              f"[env: {UPSTREAM_ENV}].")
def serve(config_path, upstream, **flags):
    """Run the proxy and the logs API in one process.

    \b
    Example:
      llmlog serve --port 8080
      OPENAI_BASE_URL=http://127.0.0.1:8080/v1 python my_app.py
    """
    from aiohttp import web

    from llmlog.proxy.app import SERVER_OPTIONS, make_app

    config = load(config_path, overrides(flags), upstream)
    host, port = config.server.host, config.server.port
    if not is_loopback(host) and not config.logs_api.api_keys and not config.server.insecure:
        raise click.ClickException(
            f"refusing to listen on {host} with no logs API key: set LLMLOG_ADMIN_KEY "
            "(or logs_api.api_keys), or pass --insecure")
    listen: dict[str, Any] = {"host": host, "port": port}
    if port == 0:
        try:
            sock = bind_any_free_port(host)
        except OSError as exc:
            raise cannot_listen(exc, host, port) from None
        port = sock.getsockname()[1]
        config = replace(config, server=replace(config.server, port=port))
        listen = {"sock": sock}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    banner = start_banner(config, host, port)
    app = make_app(config)  # a ConfigError (prices that cannot be used) is one `Error:` line, cli.py
    tune_gc()
    try:
        # run_app prints once the socket listens: a start that fails prints only its error line
        web.run_app(app, **listen, access_log=None, print=lambda _: click.echo(banner, err=True),
                    shutdown_timeout=config.server.shutdown_grace_s, **SERVER_OPTIONS)
    except StoreError as exc:  # opening the database before serving
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # mostly the listening socket; anything else still gets one line
        raise cannot_listen(exc, host, port) from None
