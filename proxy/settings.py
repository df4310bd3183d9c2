"""The settings table, and the frozen, typed `Settings` it produces (DESIGN §2).

Each setting is one field of a section class below (`[server]` is `ServerSettings`, ...) declared
with `setting(default, help, env=..., flag=...)`: the field's name and annotation are its key and
type, so these classes are the table, and `settings.store.batch_size` is checked by mypy. `SETTINGS`
lists the same rows for everything that reads the table: the loader (config file, `LLMLOG_*`
variables, flags), `serve`'s flags (proxy/cli/flags.py), the docs table
(`python -m proxy.settings --markdown > docs/settings.md`) and the check of config.example.toml.

Precedence: CLI flag > environment variable > config file > built-in default.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from proxy.booleans import PAIRS, WORDS_TEXT, parse_bool
from proxy.errors import ConfigError
from store.backends import check_location, is_postgres, open_store, printable
from store.interface import Store, StoreError
from store.spill import spill_path_for

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the table, as the loader, the flags and the docs read it."""

    key: str  # dotted: section.name, as in the TOML file
    type: type  # what a value is read as: bool, int, float, str, or tuple (a list of strings)
    default: Any
    help: str
    env: str | None = None
    flag: str | None = None  # `llmlog serve`'s flag for it, e.g. "--port"
    metavar: str | None = None  # the flag's value in `--help`, where the type's name would mislead
    shown_default: str | None = None  # the default in words where it is worked out at run time
    choices: tuple[str, ...] = ()  # for a str typed as a Literal: the values it may take
    at_least: int | float | None = None  # for a number: the smallest value allowed
    at_most: int | float | None = None  # for a number: the largest value allowed

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def allowed(self) -> str:
        """The values a number may take, in words ("at least 1", "from 0 to 65535"); "" for other types."""
        low, high = self.at_least, self.at_most
        if low is not None and high is not None:
            return f"from {low} to {high}"
        if low is not None:
            return f"at least {low}"
        return f"at most {high}" if high is not None else ""


@dataclass(frozen=True, slots=True)
class _Declared:
    help: str
    env: str | None
    flag: str | None
    metavar: str | None
    shown_default: str | None
    at_least: int | float | None
    at_most: int | float | None


def setting(default: T, help: str, *, env: str | None = None, flag: str | None = None,
            metavar: str | None = None, shown_default: str | None = None,
            at_least: int | float | None = None, at_most: int | float | None = None) -> T:
    """A row of the table: a field with `default`, the rest kept in its metadata. A number's
    `at_least`/`at_most` bound it: a value outside is refused when the settings are loaded, so no
    part of llmlog ever runs with a size of 0 or a timeout of -1 it was not written for."""
    declared = _Declared(help, env, flag, metavar, shown_default, at_least, at_most)
    return field(default=default, metadata={"setting": declared})


def default_db_path() -> str:
    """The database shared by `llmlog serve` and the read commands when nothing says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "llmlog", "llmlog.db")


# genai-prices' published data (`genai_prices.update_prices.DEFAULT_UPDATE_URL`; a test keeps them
# equal): written out, since importing that module pulls in its own HTTP client.
GENAI_PRICES_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "address to listen on", env="LLMLOG_HOST", flag="--host")
    port: int = setting(8080, "port to listen on (0: any free port, the one chosen is printed at start)",
                        env="LLMLOG_PORT", flag="--port", at_least=0, at_most=65535)
    insecure: bool = setting(False, "allow listening on a non-loopback address without a logs API key",
                             env="LLMLOG_INSECURE", flag="--insecure")
    allowed_hosts: tuple[str, ...] = setting(
        (), "host names clients reach llmlog by besides loopback names, IP addresses and server.host "
        "(e.g. a load balancer's or a container network's name; '.example.com' for a domain, '*' for any); "
        "other Host values get 403, against DNS rebinding", env="LLMLOG_ALLOWED_HOSTS")
    shutdown_grace_s: float = setting(
        10.0, "seconds in-flight calls get to finish on SIGTERM before the queue is flushed", at_least=0)
    max_request_bytes: int = setting(64 * 1024 * 1024, "largest request body accepted for forwarding (bytes)",
                                     env="LLMLOG_MAX_REQUEST_BYTES", at_least=1)


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    # a connection always has a limit (0 made every call a 504 with llmlog's client and meant none with
    # aiohttp's); silence may have none, 0, as both clients always read it
    connect_timeout_s: float = setting(10.0, "seconds to open a connection upstream", at_least=0.001)
    read_timeout_s: float = setting(
        600.0, "seconds the upstream may stay silent (before headers or between stream chunks; 0: no limit)",
        env="LLMLOG_READ_TIMEOUT", at_least=0)
    client: Literal["llmlog", "aiohttp"] = setting(
        "llmlog", "HTTP client for providers: 'llmlog' (its own, the fastest) or 'aiohttp' (aiohttp's "
        "ClientSession, which honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY, for an egress proxy)",
        env="LLMLOG_UPSTREAM_CLIENT")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    path: str | None = setting(
        None, "SQLite database file, or a postgresql:// URL for a store shared by several replicas",
        env="LLMLOG_DB", flag="--db", metavar="FILE|URL", shown_default="~/.local/share/llmlog/llmlog.db")
    url: str | None = setting(
        None, "PostgreSQL URL (postgresql://user@host:5432/llmlog) for several replicas sharing one store; "
        "--db / LLMLOG_DB given as well win over it")
    password_env: str | None = setting(
        None, "environment variable holding the PostgreSQL password, kept out of the URL (PGPASSWORD works too)")
    max_body_bytes: int = setting(
        1024 * 1024, "bytes of each request/response body kept in the log (the forwarded stream is never capped)",
        at_least=0)
    queue_size: int = setting(10_000, "captured calls held in memory before spilling to disk", at_least=1)
    spill_path: str | None = setting(
        None, "spill file for entries the database cannot take yet (default: the database path + .spill; with "
        "PostgreSQL, a file named after the URL and the listening address in llmlog's data directory); on "
        "another disk it keeps working when the database's disk is full", env="LLMLOG_SPILL_PATH")
    hold_size: int = setting(
        10_000, "entries held in memory when database and spill file both fail (disk full), retried each "
        "second, and calls waiting for a spill file that has stopped answering; beyond it entries "
        "are dropped and counted", at_least=0)
    batch_size: int = setting(500, "entries written per transaction at most", at_least=1)
    batch_interval_ms: int = setting(200, "longest time an entry waits for its batch", at_least=1, at_most=3_600_000)
    busy_timeout_ms: int = setting(
        5000, "how long a write waits for a database locked by another process before its batch goes to the "
        "spill file", at_least=0, at_most=2**31 - 1)
    writer_nice: int = setting(
        10, "niceness steps the database writer threads run below the proxy (Linux): calls get the CPU first",
        at_least=0, at_most=19)
    # at most about 2700 years: the cutoff in milliseconds stays within the databases' 64-bit integers
    retention_days: int = setting(0, "delete calls older than this (0 keeps everything)", at_least=0, at_most=1_000_000)
    content_retention_days: int = setting(0, "drop bodies and text older than this, keeping metrics (0 keeps "
                                             "everything)", at_least=0, at_most=1_000_000)


@dataclass(frozen=True, slots=True)
class LogsApiSettings:
    api_keys: tuple[str, ...] = setting(
        (), "bearer keys that may read /v1/logs (empty: no auth); LLMLOG_ADMIN_KEY adds one")


@dataclass(frozen=True, slots=True)
class PricingSettings:
    litellm_file: str | None = setting(
        None, "a price file in LiteLLM's model_prices_and_context_window.json format")
    refresh_hours: float = setting(
        0.0, "fetch genai-prices' published price file at start and every this many hours and rebuild the "
        "price table from it (the same corrections, LiteLLM file and overrides on top); on any failure "
        "the table in use is kept. 0: off, the prices shipped in the installed genai-prices are used",
        env="LLMLOG_PRICE_REFRESH_HOURS", at_least=0)
    refresh_url: str = setting(
        GENAI_PRICES_URL, "where pricing.refresh_hours fetches the price file (genai-prices' data.json format), "
        "e.g. a mirror inside an air-gapped network", env="LLMLOG_PRICE_REFRESH_URL")


# Read by the loader and the CLI but no key of the file: documented beside the table.
CONFIG_ENV = "LLMLOG_CONFIG"
ADMIN_KEY_ENV = "LLMLOG_ADMIN_KEY"
UPSTREAM_ENV = "LLMLOG_UPSTREAM"
OTHER_ENV = {
    CONFIG_ENV: "the config file to read (flag `--config`)",
    ADMIN_KEY_ENV: "one more logs API key, added to `logs_api.api_keys`",
    UPSTREAM_ENV: "base URL of the provider at prefix `/`, e.g. a local vLLM (flag `--upstream`)",
}


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


PROVIDER_KEYS = frozenset({"name", "base_url", "prefix", "format", "api_key_env", "inject_stream_usage"})

# With no config file, OpenAI at `/`: its streams carry exact usage when asked for it, so ask
# (config.example.toml says the same). `--upstream` elsewhere drops it (`_with_default_upstream`).
DEFAULT_PROVIDER = Provider(name="openai", base_url="https://api.openai.com", prefix="/", inject_stream_usage=True)


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective settings of one process; `load_config` makes them, nothing changes them."""

    server: ServerSettings = field(default_factory=ServerSettings)
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    logs_api: LogsApiSettings = field(default_factory=LogsApiSettings)
    pricing: PricingSettings = field(default_factory=PricingSettings)
    providers: tuple[Provider, ...] = (DEFAULT_PROVIDER,)
    # `[pricing.models."name"]` tables as written: pricing/prices/table.py `with_overrides` reads them
    # (read-only, as the rest: MappingProxyType all the way down, arrays as tuples)
    price_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def db_path(self) -> str:
        """Where the store is: a SQLite file path or a postgresql:// URL."""
        return self.store.path or self.store.url or default_db_path()

    def open_store(self, **options: Any) -> Store:
        """The configured store (store/backends.py `open_store` takes `options`)."""
        store: Store = open_store(self.db_path, password_env=self.store.password_env, **options)
        return store

    @property
    def spill_path(self) -> str:
        if self.store.spill_path:
            return self.store.spill_path
        if is_postgres(self.db_path):
            # no file to put it beside: llmlog's data directory, one per URL and listening address, so
            # replicas on one machine never share one and a replica restarted there finds its own
            listen = f"{self.server.host}-port{self.server.port}"
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{printable(self.db_path).split('://', 1)[1]}-{listen}").strip("_")
            return os.path.join(os.path.dirname(default_db_path()), f"postgresql-{name[-160:]}.spill")
        path: str = spill_path_for(self.db_path)
        return path


def _sections() -> dict[str, type]:
    """Section name -> its class: the fields of Settings that are settings dataclasses."""
    hints = get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings)
            if isinstance(hints[f.name], type) and is_dataclass(hints[f.name])}


def _kind(hint: Any) -> type:
    """What a value is read as, from the field's annotation: `str | None` is str, `tuple[str, ...]` tuple."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if get_origin(hint) is tuple:
        return tuple
    if get_origin(hint) is Literal and all(isinstance(arg, str) for arg in get_args(hint)):
        return str  # a choice among words: the row's `choices`
    if not isinstance(hint, type) or hint not in (bool, int, float, str):
        raise TypeError(f"a setting cannot be read as {hint!r}")
    return hint


def _rows() -> tuple[Setting, ...]:
    rows = []
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        for f in fields(cls):
            declared: _Declared = f.metadata["setting"]
            choices = get_args(hints[f.name]) if get_origin(hints[f.name]) is Literal else ()
            row = Setting(f"{section}.{f.name}", _kind(hints[f.name]), f.default, declared.help, declared.env,
                          declared.flag, declared.metavar, declared.shown_default, choices,
                          declared.at_least, declared.at_most)
            if row.type in (int, float):
                if row.at_least is None:
                    raise TypeError(f"{row.key}: a number needs its range in the table (at_least=, at_most=)")
            elif row.allowed:
                raise TypeError(f"{row.key}: only a number has a range")
            rows.append(row)
    return tuple(rows)


SECTIONS: dict[str, type] = _sections()  # "server": ServerSettings, ... in the order of Settings
SETTINGS: tuple[Setting, ...] = _rows()
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


# what the loader accepts: a TOML value of the type, or (from the environment, a flag, a file's
# string) its text. An integer is ASCII digits only: int() would also take "٨٠٨٠" and "8_080", and a
# float such as 8080.9 is refused rather than cut to 8080. A number must be finite: nan and inf are
# refused, since every comparison with nan is false (a timeout of nan expired at once).
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _read_int(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw.strip()):
        return int(raw.strip())
    raise ValueError(raw)


def _read_float(raw: Any) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)  # OverflowError for an integer past a float's range
    elif isinstance(raw, str) and _NUMBER_TEXT.fullmatch(raw.strip()):
        value = float(raw.strip())
    else:
        raise ValueError(raw)
    if not math.isfinite(value):  # 1e999 in a string
        raise ValueError(raw)
    return value


def _read_bool(raw: Any) -> bool:
    """A TOML boolean, or one of the words of proxy/booleans.py (from a string anywhere)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return parse_bool(raw)
    raise ValueError(raw)


def _read_str(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    raise ValueError(raw)


def _read_list(raw: Any) -> tuple[str, ...]:
    """A TOML array of strings, or a comma-separated string (the environment's way)."""
    if isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    raise ValueError(raw)


_READERS: dict[type, Any] = {bool: _read_bool, int: _read_int, float: _read_float, str: _read_str, tuple: _read_list}
_EXPECTED: dict[type, str] = {bool: f"bool ({WORDS_TEXT})", int: "an integer", float: "a finite number",
                              str: "a string", tuple: "a list of strings"}


def expected(setting: Setting) -> str:
    """What a value of `setting` must be, in words: "an integer from 0 to 65535", "a string"."""
    if setting.choices:
        return f"one of {', '.join(map(repr, setting.choices))}"
    allowed = setting.allowed
    return f"{_EXPECTED[setting.type]}{' of' if allowed.startswith('at ') else ''} {allowed}".rstrip()


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    """`raw` (from `origin`: the file, a variable, a flag) read as `setting`'s type and checked
    against its choices and range; a ConfigError of one line naming all three otherwise."""
    try:
        value = _READERS[setting.type](raw)
        if setting.choices and value not in setting.choices:
            raise ValueError(raw)
        if setting.at_least is not None and value < setting.at_least:
            raise ValueError(raw)
        if setting.at_most is not None and value > setting.at_most:
            raise ValueError(raw)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{setting.key} from {origin}: expected {expected(setting)}, got {raw!r}") from None
    return value


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
    unknown = set(table) - PROVIDER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for required in ("name", "base_url"):
        if not table.get(required):
            raise ConfigError(f"{where}: '{required}' is required")
    for key in PROVIDER_KEYS - {"inject_stream_usage"}:
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: {key} must be a string, got {_kind_of(table[key])} ({table[key]!r})")
    fmt = table.get("format", "openai")
    if fmt not in ("openai", "anthropic"):
        raise ConfigError(f"{where}: format must be 'openai' or 'anthropic', got {fmt!r}")
    try:  # the settings' vocabulary: a TOML boolean, or "true", "off", ... (never bool("false"), which is True)
        inject = _read_bool(table.get("inject_stream_usage", False))
    except ValueError:
        raise ConfigError(f"{where}: inject_stream_usage must be a bool ({WORDS_TEXT}), "
                          f"got {table['inject_stream_usage']!r}") from None
    return Provider(
        name=table["name"],
        base_url=_checked_base_url(table["base_url"], where),
        prefix="/" + table.get("prefix", "/").strip("/"),
        format=fmt,
        api_key_env=table.get("api_key_env"),
        inject_stream_usage=inject,
    )


_TOML_KINDS = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
               dict: "a table"}


def _kind_of(value: Any) -> str:
    """What a TOML value is, in the words of the TOML spec ("a table", "an array", ...)."""
    return next((word for kind, word in _TOML_KINDS.items() if isinstance(value, kind)), "a date or time")


def _provider_tables(raw: Any, path: str | os.PathLike[str] | None) -> list[Mapping[str, Any]]:
    """The file's `[[providers]]` tables; `providers = "x"` or `providers = [1]` is one clear line."""
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: providers must be an array of tables ([[providers]]), got {_kind_of(raw)}")
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: providers[{index}] must be a table ([[providers]] with name = ... "
                              f"and base_url = ...), got {_kind_of(table)}")
    return raw


def _read_only(value: Any) -> Any:
    """`value` with every table a read-only mapping and every array a tuple: settings nothing changes."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(item) for item in value)
    return value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    upstream: str | None = None,
) -> Settings:
    """The effective settings. `overrides` are CLI flags by dotted key (None means not given)."""
    env = os.environ if env is None else env
    file_table: dict[str, Any] = {}
    if path is not None:
        try:
            file_table = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    raw_providers = _provider_tables(file_table.pop("providers", []), path)
    price_overrides = file_table.get("pricing", {}).pop("models", {}) if isinstance(
        file_table.get("pricing"), dict) else {}
    if not isinstance(price_overrides, dict) or not all(isinstance(v, dict) for v in price_overrides.values()):
        raise ConfigError(f"{path}: [pricing.models] must hold one table per model, e.g. "
                          '[pricing.models."my-model"] with input = 1.0 and output = 2.0')
    flat = _flatten(file_table)
    unknown = sorted(set(flat) - set(BY_KEY))
    if unknown:
        raise ConfigError(f"unknown config key(s) in {path}: {', '.join(unknown)}")

    values: dict[str, Any] = {}
    for row in SETTINGS:
        value = row.default
        if row.key in flat:
            value = _coerce(row, flat[row.key], str(path))
        if row.env and env.get(row.env) not in (None, ""):
            value = _coerce(row, env[row.env], row.env)
        if overrides and overrides.get(row.key) is not None:
            value = _coerce(row, overrides[row.key], row.flag or "command line")
        values[row.key] = value
    admin_key = env.get(ADMIN_KEY_ENV)
    if admin_key:
        values["logs_api.api_keys"] = (*values["logs_api.api_keys"], admin_key)
    sections = {name: cls(**{row.name: values[row.key] for row in SETTINGS if row.section == name})
                for name, cls in SECTIONS.items()}
    settings = Settings(**sections, price_overrides=_read_only(price_overrides))
    for key in settings.logs_api.api_keys:
        _check_api_key(key)
    _check_store(settings.store, in_file="store.path" in flat)

    providers = [_provider_from(t, i) for i, t in enumerate(raw_providers)] or [DEFAULT_PROVIDER]
    upstream = upstream or env.get(UPSTREAM_ENV) or None
    if upstream:
        providers = _with_default_upstream(providers, upstream)
    return replace(settings, providers=tuple(providers))


def _check_store(store: StoreSettings, in_file: bool) -> None:
    url, path = store.url, store.path
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


# -- the docs table (docs/settings.md) --------------------------------------------------------------

_TYPE_WORDS = {bool: "boolean", int: "integer", float: "number", str: "string", tuple: "list of strings"}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _type_cell(row: Setting) -> str:
    """The Type column: the choices, or the type and, for a number, its range ("integer, at least 1")."""
    if row.choices:
        return " or ".join(f"`{_toml(c)}`" for c in row.choices)
    return f"{_TYPE_WORDS[row.type]}, {row.allowed}" if row.allowed else _TYPE_WORDS[row.type]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """docs/settings.md: every setting by section, with its default, variable and flag."""
    words = ", ".join(f"`{true}`/`{false}`" for true, false in PAIRS)
    lines = [
        "# Settings",
        "",
        ("<!-- Generated from the table in proxy/settings.py; do not edit here. "
         "Regenerate: python -m proxy.settings --markdown > docs/settings.md -->"),
        "",
        ("Every key is optional. Precedence: `llmlog serve` flag > environment variable > config file "
         "(`--config`, see [config.example.toml](../config.example.toml)) > default."),
        (f"A boolean is one of {words}, in any case (the logs API's true/false parameters take the same words); "
         "a list in the environment is comma-separated."),
    ]
    for section in SECTIONS:
        lines += ["", f"## [{section}]", "", "| Key | Type | Default | Environment | Flag | Meaning |",
                  "|---|---|---|---|---|---|"]
        for row in SETTINGS:
            if row.section != section:
                continue
            default = f"`{row.shown_default}`" if row.shown_default else (
                "(none)" if row.default is None else f"`{_toml(row.default)}`")
            lines.append("| " + " | ".join([
                f"`{row.key}`", _type_cell(row),
                _cell(default), f"`{row.env}`" if row.env else "",
                f"`{row.flag}`" if row.flag else "", _cell(row.help)]) + " |")
    lines += ["", "## Other environment variables", "", "| Variable | Meaning |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in OTHER_ENV.items()]
    lines += ["", "Providers (`[[providers]]`, keys: " + ", ".join(f"`{k}`" for k in sorted(PROVIDER_KEYS))
              + ") and price overrides (`[pricing.models.\"name\"]`) are tables of their own: see "
              "[config.example.toml](../config.example.toml).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m proxy.settings --markdown > docs/settings.md")
    sys.stdout.write(markdown())
