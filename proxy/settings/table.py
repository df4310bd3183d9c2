"""The settings table, and the frozen, typed `Settings` it produces (DESIGN §2).

Each setting is one field of a section class below (`[server]` is `ServerSettings`, ...) declared
with `setting(default, help, env=..., flag=...)`: the field's name and annotation are its key and
type, so these classes are the table, and `settings.store.batch_size` is checked by mypy. `SETTINGS`
lists the same rows for everything that reads the table: the loader (config file, `LLMLOG_*`
variables, flags), `serve`'s flags (proxy/cli/flags.py), the docs table
(`python -m llmlog.proxy.settings --markdown > docs/settings.md`) and the check of config.example.toml.

Precedence: CLI flag > environment variable > config file > built-in default.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from llmlog.proxy.privacy.detect import PiiKind
from llmlog.store.backends import is_postgres, open_store, printable
from llmlog.store.interface import Store
from llmlog.store.keyring import Keyring
from llmlog.store.spill import spill_path_for

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
    trusted_proxies: tuple[str, ...] = setting(
        (), "addresses or networks of reverse proxies in front of llmlog (e.g. '10.0.0.0/8'): from these "
        "alone X-Forwarded-For is believed for a call's request_ip; empty: the peer's own address is logged",
        env="LLMLOG_TRUSTED_PROXIES")
    shutdown_grace_s: float = setting(
        10.0, "seconds in-flight calls get to finish on SIGTERM before the queue is flushed", at_least=0)
    max_request_bytes: int = setting(64 * 1024 * 1024, "largest request body accepted for forwarding (bytes)",
                                     env="LLMLOG_MAX_REQUEST_BYTES", at_least=1)
    workers: int = setting(
        1, "serving processes sharing the port (SO_REUSEPORT); above 1, `serve` supervises them and worker 0 "
        "alone writes a SQLite database, the others passing it their entries (PostgreSQL: each writes)",
        env="LLMLOG_WORKERS", flag="--workers", at_least=1, at_most=64)


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
        10, "niceness steps the database writer threads run below the proxy (Linux): calls get the CPU first; "
        "while more than a batch waits to be written, a second writer thread at the proxy's own priority takes "
        "the writes, so a busy core still leaves logging enough of it",
        at_least=0, at_most=19)
    # at most about 2700 years: the cutoff in milliseconds stays within the databases' 64-bit integers
    retention_days: int = setting(0, "delete calls older than this (0 keeps everything)", at_least=0, at_most=1_000_000)
    content_retention_days: int = setting(0, "drop bodies and text older than this, keeping metrics (0 keeps "
                                             "everything)", at_least=0, at_most=1_000_000)


@dataclass(frozen=True, slots=True)
class LogsApiSettings:
    api_keys: tuple[str, ...] = setting(
        (), "bearer keys that may read /v1/logs (empty: no auth); LLMLOG_ADMIN_KEY adds one")
    requests_per_minute: int = setting(
        0, "logs API requests (/v1/logs and the seed routes; never proxied calls) one key may make a minute, "
        "or one client address when no key is configured; past it 429 with Retry-After (0: no limit; the Perf "
        "document's tiers: 30, 120, 600)", env="LLMLOG_LOGS_REQUESTS_PER_MINUTE", at_least=0, at_most=1_000_000)
    max_limit: int = setting(
        1000, "the largest page (limit, page_size, pageSize) one logs API request may ask for; larger is a 400",
        env="LLMLOG_LOGS_MAX_LIMIT", at_least=1, at_most=1000)
    credits_per_usd: float = setting(
        1.0, "PromptShuttle's credits per USD: /api/v1/llm-logs shows each call's costCredits as its USD cost "
        "times this (1: a credit is a dollar)", at_least=0)


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


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    max_models: int = setting(
        100, "distinct model names the metrics' model labels take (/metrics and OpenTelemetry metrics; the first "
        "seen): calls of any further model are counted under model=\"other\", so clients cannot grow the series "
        "without bound", env="LLMLOG_METRICS_MAX_MODELS", at_least=1, at_most=100_000)


@dataclass(frozen=True, slots=True)
class OtelSettings:
    enabled: bool = setting(
        False, "export each call as an OpenTelemetry span (GenAI semantic conventions) and the gen_ai.client.* "
        "metrics over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318; the other "
        "standard OTEL_* variables apply); needs pip install 'llmlog[otel]'", env="LLMLOG_OTEL_ENABLED")
    capture_content: bool = setting(
        False, "add each call's prompt and output text to its span as events; never for do-not-track calls",
        env="LLMLOG_OTEL_CAPTURE_CONTENT")


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    detect_pii: bool = setting(
        True, "count the personal data and secrets in each call's stored text (e-mail addresses, phone numbers, "
        "card numbers, IBANs, US SSNs, IP addresses, API keys and tokens) into its `pii` field, off the request "
        "path; the values themselves are never copied out of the content", env="LLMLOG_PRIVACY_DETECT_PII")
    redact: tuple[PiiKind, ...] = setting(
        (), "kinds of personal data replaced by a typed placeholder ('[email]') in everything stored of a call "
        "(bodies, headers, texts, error, metadata) before it is written anywhere; the upstream still gets the "
        "request unchanged. Any of: secret, iban, card, ssn, email, ip, phone", env="LLMLOG_PRIVACY_REDACT")
    encryption_key_env: str | None = setting(
        None, "the environment variable holding the key(s) that encrypt content at rest (AES-256-GCM: bodies, "
        "headers, prompt and output text, stream events, in the store, the spill file and export files); each "
        "key 64 hex digits or 44 base64 characters (`llmlog genkey`), several separated by commas or spaces, "
        "newest first: it encrypts, the others only decrypt (`llmlog rekey` moves everything to the newest). "
        "Metrics, ids and labels stay clear; full-text search is off", env="LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV")
    encryption_key_file: str | None = setting(
        None, "a file holding the key(s), as encryption_key_env's variable would (one setting or the other); "
        "refused when other users can read it (chmod 600)", env="LLMLOG_PRIVACY_ENCRYPTION_KEY_FILE")


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
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    otel: OtelSettings = field(default_factory=OtelSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    providers: tuple[Provider, ...] = (DEFAULT_PROVIDER,)
    # `[pricing.models."name"]` tables as written: pricing/prices/table.py `with_overrides` reads them
    # (read-only, as the rest: MappingProxyType all the way down, arrays as tuples)
    price_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    # `[api_key_names]`: a provider key's prefix (as entries show it, `api_key_prefix`) or SHA-256 hash
    # (`api_key_hash`, lower-case hex) -> a name, shown as `api_key_name` (proxy/query/present.py)
    api_key_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # the content keys `privacy.encryption_key_env` or `_file` name, read and checked by the loader
    # (proxy/privacy/keys.py); None: content is stored in clear
    keyring: Keyring | None = None

    @property
    def db_path(self) -> str:
        """Where the store is: a SQLite file path or a postgresql:// URL."""
        return self.store.path or self.store.url or default_db_path()

    def open_store(self, **options: Any) -> Store:
        """The configured store, with the configured content keys (store/backends.py `open_store`
        takes `options`)."""
        options.setdefault("keyring", self.keyring)
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


def _choices(hint: Any) -> tuple[str, ...]:
    """The words a `Literal[...]` setting may be, or each item of a `tuple[Literal[...], ...]` may be."""
    if get_origin(hint) is tuple:
        hint = get_args(hint)[0]
    return get_args(hint) if get_origin(hint) is Literal else ()


def _rows() -> tuple[Setting, ...]:
    rows = []
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        for f in fields(cls):
            declared: _Declared = f.metadata["setting"]
            choices = _choices(hints[f.name])
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
