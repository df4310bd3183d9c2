"""The `llmlog` command: a thin click layer over proxy/, store/ and pricing/."""

from __future__ import annotations

import functools
import ipaddress
import logging

import click

from proxy.config import Config, ConfigError, load_config


def _load(config_path: str | None, overrides: dict, upstream: str | None = None) -> Config:
    try:
        return load_config(config_path, overrides=overrides, upstream=upstream)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def config_options(fn):
    """`--config` and `--db`, shared by every command that opens the database."""
    @click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="LLMLOG_CONFIG",
                  help="TOML config file (see config.example.toml).")
    @click.option("--db", "db", type=click.Path(dir_okay=False), help="SQLite database file [env: LLMLOG_DB].")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """llmlog: a transparent logging proxy for LLM APIs, and the tools to read its logs."""


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@config_options
@click.option("--host", help="Address to listen on [default: 127.0.0.1; env: LLMLOG_HOST].")
@click.option("--port", type=int, help="Port to listen on [default: 8080; env: LLMLOG_PORT].")
@click.option("--upstream", help="Base URL of the default provider, e.g. http://127.0.0.1:8000 for vLLM.")
@click.option("--insecure", is_flag=True, default=None,
              help="Allow a non-loopback address without a logs API key.")
def serve(config_path, db, host, port, upstream, insecure):
    """Run the proxy and the logs API in one process.

    \b
    Example:
      llmlog serve --port 8080
      OPENAI_BASE_URL=http://127.0.0.1:8080/v1 python my_app.py
    """
    from aiohttp import web

    from proxy.app import make_app

    config = _load(config_path, {"store.path": db, "server.host": host, "server.port": port,
                                 "server.insecure": insecure}, upstream)
    host, port = config["server.host"], config["server.port"]
    if not _is_loopback(host) and not config["logs_api.api_keys"] and not config["server.insecure"]:
        raise click.ClickException(
            f"refusing to listen on {host} with no logs API key: set LLMLOG_ADMIN_KEY "
            "(or logs_api.api_keys), or pass --insecure")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"llmlog: proxying on http://{host}:{port} → "
               + ", ".join(f"{p.prefix} {p.base_url}" for p in config.providers)
               + f"; logging to {config.db_path}", err=True)
    app = make_app(config)
    web.run_app(app, host=host, port=port, access_log=None, print=None, handler_cancellation=True,
                shutdown_timeout=config["server.shutdown_grace_s"])


if __name__ == "__main__":
    main()
