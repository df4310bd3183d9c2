"""One declarative settings table drives TOML loading, env variables, CLI flags and validation.

Precedence (DESIGN §2): CLI flag > environment variable (`LLMLOG_*`) > config file > built-in default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from store.backends import check_location, is_postgres, open_store, printable
from store.interface import Store, StoreError
from store.spill import spill_path_for


class ConfigError(ValueError):
    """A configuration value a person has to fix; the message says which and how."""


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # dotted: section.name, as in the TOML file
    type: type
    default: Any
    help: str
    env: str | None = None
    choices: tuple[str, ...] = ()  # for a str: the values it may take, if not any


def default_db_path() -> str:
    """The database shared by `llmlog serve` and the read commands when nothing says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "llmlog", "llmlog.db")


# genai-prices' published data (`genai_prices.update_prices.DEFAULT_UPDATE_URL`; a test keeps them
# equal): written out, since importing that module pulls in its own HTTP client.
GENAI_PRICES_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"

SETTINGS: tuple[Setting, ...] = (
    Setting("server.host", str, "127.0.0.1", "address to listen on", "LLMLOG_HOST"),
    Setting("server.port", int, 8080, "port to listen on", "LLMLOG_PORT"),
    Setting("server.insecure", bool, False,
            "allow listening on a non-loopback address with no logs API key", "LLMLOG_INSECURE"),
    Setting("server.allowed_hosts", list, [],
            "host names clients reach llmlog by besides loopback names, IP addresses and server.host "
            "(e.g. a load balancer's or a container network's name; '.example.com' for a domain, '*' for any); "
            "other Host values get 403, against DNS rebinding", "LLMLOG_ALLOWED_HOSTS"),
    Setting("server.shutdown_grace_s", float, 10.0,
            "seconds in-flight calls get to finish on SIGTERM before the queue is flushed"),
    Setting("server.max_request_bytes", int, 64 * 1024 * 1024,
            "largest request body accepted for forwarding (bytes)", "LLMLOG_MAX_REQUEST_BYTES"),
    Setting("upstream.connect_timeout_s", float, 10.0, "seconds to open a connection upstream"),
    Setting("upstream.read_timeout_s", float, 600.0,
            "seconds the upstream may stay silent (before headers or between stream chunks)",
            "LLMLOG_READ_TIMEOUT"),
    Setting("upstream.client", str, "llmlog",
            "HTTP client for providers: 'llmlog' (its own, the fastest) or 'aiohttp' (aiohttp's ClientSession, "
            "which honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY, for an egress proxy)", "LLMLOG_UPSTREAM_CLIENT",
            choices=("llmlog", "aiohttp")),
    Setting("store.path", str, None,
            "SQLite database file (default: ~/.local/share/llmlog/llmlog.db), or a postgresql:// URL",
            "LLMLOG_DB"),
    Setting("store.url", str, None,
            "PostgreSQL URL (postgresql://user@host:5432/llmlog) for several replicas sharing one store; "
            "--db / LLMLOG_DB given as well win over it"),
    Setting("store.password_env", str, None,
            "environment variable holding the PostgreSQL password, kept out of the URL (PGPASSWORD works too)"),
    Setting("store.max_body_bytes", int, 1024 * 1024,
            "bytes of each request/response body kept in the log (the forwarded stream is never capped)"),
    Setting("store.queue_size", int, 10_000, "captured calls held in memory before spilling to disk"),
    Setting("store.spill_path", str, None,
            "spill file for entries the database cannot take yet (default: the database path + .spill; with "
            "PostgreSQL, a file named after the URL and the listening address in llmlog's data directory); on "
            "another disk it keeps working when the database's disk is full",
            "LLMLOG_SPILL_PATH"),
    Setting("store.hold_size", int, 10_000,
            "entries held in memory when database and spill file both fail (disk full), retried each "
            "second, and calls waiting for a spill file that has stopped answering; beyond it entries "
            "are dropped and counted"),
    Setting("store.batch_size", int, 500, "entries written per transaction at most"),
    Setting("store.batch_interval_ms", int, 200, "longest time an entry waits for its batch"),
    Setting("store.busy_timeout_ms", int, 5000,
            "how long a write waits for a database locked by another process before its batch goes to the spill file"),
    Setting("store.writer_nice", int, 10,
            "niceness steps the database writer threads run below the proxy (Linux): calls get the CPU first"),
    Setting("store.retention_days", int, 0, "delete calls older than this (0 keeps everything)"),
    Setting("store.content_retention_days", int, 0,
            "drop bodies and text older than this, keeping metrics (0 keeps everything)"),
    Setting("logs_api.api_keys", list, [], "bearer keys that may read /v1/logs (empty: no auth)"),
    Setting("pricing.litellm_file", str, None,
            "a price file in LiteLLM's model_prices_and_context_window.json format"),
    Setting("pricing.refresh_hours", float, 0.0,
            "fetch genai-prices' published price file at start and every this many hours and rebuild the "
            "price table from it (the same corrections, LiteLLM file and overrides on top); on any failure "
            "the table in use is kept. 0: off, the prices shipped in the installed genai-prices are used",
            "LLMLOG_PRICE_REFRESH_HOURS"),
    Setting("pricing.refresh_url", str, GENAI_PRICES_URL,
            "where pricing.refresh_hours fetches the price file (genai-prices' data.json format), e.g. a "
            "mirror inside an air-gapped network", "LLMLOG_PRICE_REFRESH_URL"),
)

_BY_KEY = {s.key: s for s in SETTINGS}
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class Provider:
    """An upstream LLM API reached through a path prefix (DESIGN §2)."""

    name: str
    base_url: str
    prefix: str = "/"
    format: str = "openai"  # how usage is read: openai | anthropic
    api_key_env: str | None = None
    # off unless set, for a provider from a config file: some OpenAI-compatible servers reject the
    # unknown `stream_options` field (DESIGN §5)
    inject_stream_usage: bool = False


# With no config file, OpenAI at `/`: its streams carry exact usage when asked for it, so ask
# (config.example.toml says the same). `--upstream` elsewhere drops it (`_with_default_upstream`).
DEFAULT_PROVIDER = Provider(name="openai", base_url="https://api.openai.com", prefix="/", inject_stream_usage=True)


@dataclass(slots=True)
class Config:
    values: dict[str, Any]
    providers: list[Provider] = field(default_factory=lambda: [DEFAULT_PROVIDER])
    price_overrides: dict[str, dict] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def db_path(self) -> str:
        """Where the store is: a SQLite file path or a postgresql:// URL."""
        return self.values["store.path"] or self.values["store.url"] or default_db_path()

    def open_store(self, **options) -> Store:
        """The configured store (store/backends.py `open_store` takes `options`)."""
        return open_store(self.db_path, password_env=self.values["store.password_env"], **options)

    @property
    def spill_path(self) -> str:
        if self.values["store.spill_path"]:
            return self.values["store.spill_path"]
        if is_postgres(self.db_path):
            # no file to put it beside: llmlog's data directory, one per URL and listening address, so
            # replicas on one machine never share one and a replica restarted there finds its own
            listen = f"{self.values['server.host']}-port{self.values['server.port']}"
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{printable(self.db_path).split('://', 1)[1]}-{listen}").strip("_")
            return os.path.join(os.path.dirname(default_db_path()), f"postgresql-{name[-160:]}.spill")
        return spill_path_for(self.db_path)


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    want = setting.type
    if setting.choices and raw not in setting.choices:
        raise ConfigError(f"{setting.key} from {origin}: expected one of "
                          f"{', '.join(map(repr, setting.choices))}, got {raw!r}")
    try:
        if want is bool:
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError(raw)
        if want is list:
            if isinstance(raw, list):
                return [str(x) for x in raw]
            return [part.strip() for part in str(raw).split(",") if part.strip()]
        if want in (int, float):
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = want(raw)
            if value < 0:
                raise ValueError(raw)
            return value
        return want(raw)
    except (TypeError, ValueError):
        kind = want.__name__ if want in (bool, list, str) else f"a number of 0 or more ({want.__name__})"
        raise ConfigError(f"{setting.key} from {origin}: expected {kind}, got {raw!r}") from None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a provider's base URL, or None: the upstream client (proxy/upstream/client.py)
    speaks HTTP/1.1 over TCP or TLS to one host; it does not send credentials written into the URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{url!r} is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} must be http(s)://host[:port][/path]"
    if parts.username is not None or parts.password is not None:
        return f"{url!r} holds credentials; put the key in api_key_env instead"
    if parts.query or parts.fragment:
        return f"{url!r} must not have a query or fragment"
    if port == 0:
        return f"{url!r} has port 0"
    return None


def _checked_base_url(url: str, where: str) -> str:
    url = url.rstrip("/")
    problem = base_url_problem(url)
    if problem:
        raise ConfigError(f"{where}: base_url {problem}")
    return url


def _provider_from(table: Mapping[str, Any], index: int) -> Provider:
    where = f"providers[{index}]"
    unknown = set(table) - {"name", "base_url", "prefix", "format", "api_key_env", "inject_stream_usage"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for required in ("name", "base_url"):
        if not table.get(required):
            raise ConfigError(f"{where}: '{required}' is required")
    fmt = table.get("format", "openai")
    if fmt not in ("openai", "anthropic"):
        raise ConfigError(f"{where}: format must be 'openai' or 'anthropic', got {fmt!r}")
    prefix = "/" + str(table.get("prefix", "/")).strip("/")
    return Provider(
        name=str(table["name"]),
        base_url=_checked_base_url(str(table["base_url"]), where),
        prefix=prefix,
        format=fmt,
        api_key_env=table.get("api_key_env"),
        inject_stream_usage=bool(table.get("inject_stream_usage", False)),
    )


def load_config(
    path: str | os.PathLike | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    upstream: str | None = None,
) -> Config:
    """Build the effective config. `overrides` are CLI flags by dotted key (None means not given)."""
    env = os.environ if env is None else env
    file_table: dict[str, Any] = {}
    if path is not None:
        try:
            file_table = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    raw_providers = file_table.pop("providers", None)
    price_overrides = file_table.get("pricing", {}).pop("models", {}) if isinstance(
        file_table.get("pricing"), dict) else {}
    if not isinstance(price_overrides, dict) or not all(isinstance(v, dict) for v in price_overrides.values()):
        raise ConfigError(f"{path}: [pricing.models] must hold one table per model, e.g. "
                          '[pricing.models."my-model"] with input = 1.0 and output = 2.0')
    flat = _flatten(file_table)
    unknown = sorted(set(flat) - set(_BY_KEY))
    if unknown:
        raise ConfigError(f"unknown config key(s) in {path}: {', '.join(unknown)}")

    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        if setting.key in flat:
            value = _coerce(setting, flat[setting.key], str(path))
        if setting.env and env.get(setting.env) not in (None, ""):
            value = _coerce(setting, env[setting.env], setting.env)
        if overrides and overrides.get(setting.key) is not None:
            value = _coerce(setting, overrides[setting.key], "command line")
        values[setting.key] = value
    admin_key = env.get("LLMLOG_ADMIN_KEY")
    if admin_key:
        values["logs_api.api_keys"] = [*values["logs_api.api_keys"], admin_key]
    for key in values["logs_api.api_keys"]:
        _check_api_key(key)
    _check_store(values, in_file="store.path" in flat)
    if values["server.port"] > 65535:
        raise ConfigError(f"server.port must be between 0 and 65535, got {values['server.port']}")

    providers = [_provider_from(t, i) for i, t in enumerate(raw_providers or [])] or [DEFAULT_PROVIDER]
    upstream = upstream or env.get("LLMLOG_UPSTREAM") or None
    if upstream:
        providers = _with_default_upstream(providers, upstream)
    return Config(values=values, providers=providers, price_overrides=dict(price_overrides))


def _check_store(values: dict, in_file: bool) -> None:
    url, path = values["store.url"], values["store.path"]
    if url and path and in_file:
        raise ConfigError("the config file sets both store.path and store.url; keep one")
    if url and not is_postgres(url):
        raise ConfigError(f"store.url must be a postgresql:// URL, got {printable(url)!r}")
    try:
        check_location(path or url or "")
    except StoreError as exc:
        raise ConfigError(str(exc)) from None


def _check_api_key(key: str) -> None:
    """An empty key would let anyone in while passing for auth; a key with spaces around it
    could never be presented (the header's value is trimmed)."""
    if not key.strip():
        raise ConfigError("logs_api.api_keys (or LLMLOG_ADMIN_KEY) holds an empty key; remove it or set a real one")
    if not all("!" <= ch <= "~" for ch in key):  # what an Authorization header carries as sent
        raise ConfigError("a logs API key (logs_api.api_keys or LLMLOG_ADMIN_KEY) must be visible ASCII "
                          "characters: no spaces, control or invisible characters")


def _with_default_upstream(providers: list[Provider], url: str) -> list[Provider]:
    """`--upstream URL` points the provider at prefix `/` elsewhere (e.g. a local vLLM)."""
    url = _checked_base_url(url, "--upstream")
    out, replaced = [], False
    for p in providers:
        if p.prefix == "/":
            # the built-in provider asks for stream usage because it is OpenAI; pointed at another
            # server (a local vLLM, llama.cpp, ...) it keeps the documented default, off
            inject = p.inject_stream_usage and p is not DEFAULT_PROVIDER
            p = Provider(p.name, url, "/", p.format, p.api_key_env, inject)
            replaced = True
        out.append(p)
    if not replaced:
        out.append(Provider("default", url, "/"))
    return out
