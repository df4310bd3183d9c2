"""`llmlog serve`: the proxy and the logs API in one process, or in `--workers N` supervised ones."""

from __future__ import annotations

import errno
import gc
import ipaddress
import logging
import socket
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import click

from llmlog.proxy.cli.common import config_options, installed_version, load
from llmlog.proxy.cli.flags import FLAGGED, overrides, param_name, setting_options
from llmlog.proxy.settings import UPSTREAM_ENV, Settings
from llmlog.proxy.workers.child import tell_ready, worker_from_env
from llmlog.proxy.workers.role import SOLO
from llmlog.proxy.workers.supervise import Supervisor
from llmlog.store.backends import is_postgres, printable
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
    workers = config.server.workers
    if workers > 1:
        writes = "each writes the database" if is_postgres(config.db_path) else "worker 0 writes the database"
        lines.append(f"  workers    {workers} processes on this port; {writes}")
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


def listenable_port(host: str, port: int) -> int:
    """The port the workers of `serve --workers` will share: `port` once nothing is found listening
    on it at any address `host` names, or for 0 one the system picks. Checked here, once, with a
    socket that does not share its port (SO_REUSEPORT unset), so another server on it, a `serve
    --workers` included, is "address already in use" as for one process. OSError as binding raises."""
    if port == 0:
        with bind_any_free_port(host) as sock:
            port = sock.getsockname()[1]
    for family, kind, proto, _, address in socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own socket will
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(address)
    return port


def worker_args(config_path: str | None, upstream: str | None, flags: Mapping[str, Any], port: int) -> list[str]:
    """The `serve` command line of each worker: this one's flags, the port made concrete."""
    args = ["serve"]
    if config_path is not None:
        args += ["--config", config_path]
    if upstream is not None:
        args += ["--upstream", upstream]
    for setting in FLAGGED:
        assert setting.flag
        value = str(port) if setting.key == "server.port" else flags.get(param_name(setting))
        if value is True:
            args.append(setting.flag)
        elif value is not None and value is not False:
            args += [setting.flag, str(value)]
    return args


def supervise(config: Settings, config_path: str | None, upstream: str | None, flags: Mapping[str, Any]) -> int:
    """`serve --workers N` (N > 1): check the port, start the workers, print the banner once all
    listen, and supervise them until SIGTERM/SIGINT; the exit status."""
    host = config.server.host
    if not hasattr(socket, "SO_REUSEPORT"):
        raise click.ClickException("--workers needs SO_REUSEPORT, which this system lacks: use --workers 1")
    try:
        port = listenable_port(host, config.server.port)
    except OSError as exc:
        raise cannot_listen(exc, host, config.server.port) from None
    config = replace(config, server=replace(config.server, port=port))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    banner = start_banner(config, host, port)
    supervisor = Supervisor(worker_args(config_path, upstream, flags, port), config.server.workers,
                            stop_timeout_s=config.server.shutdown_grace_s)
    return supervisor.run(lambda: click.echo(banner, err=True))


@click.command()
@config_options
@setting_options(skip=("store.path",))  # --host, --port, --insecure; config_options has --db
@click.option("--upstream", help="Base URL of the default provider, e.g. http://127.0.0.1:8000 for vLLM "
              f"[env: {UPSTREAM_ENV}].")
def serve(config_path, upstream, **flags):
    """Run the proxy and the logs API in one process (or in N with --workers).

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
    worker = worker_from_env(config.server.workers)  # started by a supervisor: serve --workers
    if worker is None and config.server.workers > 1:
        click.get_current_context().exit(supervise(config, config_path, upstream, flags))
    listen: dict[str, Any] = {"host": host, "port": port}
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if worker is not None:  # the supervisor checked the port and prints the banner
        listen["reuse_port"] = True
        log_format = f"%(asctime)s %(levelname)s %(name)s (worker {worker.index}): %(message)s"
    elif port == 0:
        try:
            sock = bind_any_free_port(host)
        except OSError as exc:
            raise cannot_listen(exc, host, port) from None
        port = sock.getsockname()[1]
        config = replace(config, server=replace(config.server, port=port))
        listen = {"sock": sock}
    logging.basicConfig(level=logging.INFO, format=log_format)
    banner = start_banner(config, host, port)
    app = make_app(config, worker=worker or SOLO)  # a ConfigError (unusable prices) is one `Error:` line, cli.py
    tune_gc()
    announce = (lambda _: tell_ready()) if worker is not None else (lambda _: click.echo(banner, err=True))
    try:
        # run_app prints once the socket listens: a start that fails prints only its error line
        web.run_app(app, **listen, access_log=None, print=announce,
                    shutdown_timeout=config.server.shutdown_grace_s, **SERVER_OPTIONS)
    except StoreError as exc:  # opening the database before serving
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # mostly the listening socket; anything else still gets one line
        raise cannot_listen(exc, host, port) from None
