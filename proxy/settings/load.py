"""Reading the table's values from a config file, the environment and flags into a frozen `Settings`,
with every value checked: a bad one is a one-line ConfigError naming the key, where it came from and why."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from llmlog.proxy.access.client_address import TrustedProxyError, trusted_networks
from llmlog.proxy.booleans import WORDS_TEXT, parse_bool
from llmlog.proxy.errors import ConfigError
from llmlog.proxy.pipeline.scrub import KEY_PREFIX_CHARS
from llmlog.proxy.privacy.keys import load_keyring
from llmlog.proxy.settings.table import (
    ADMIN_KEY_ENV,
    BY_KEY,
    DEFAULT_PROVIDER,
    PROVIDER_KEYS,
    SECTIONS,
    SETTINGS,
    UPSTREAM_ENV,
    Provider,
    Setting,
    Settings,
    StoreSettings,
)
from llmlog.store.backends import check_location, is_postgres, printable
from llmlog.store.interface import StoreError

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
        words = ', '.join(map(repr, setting.choices))
        return f"a list of any of {words}" if setting.type is tuple else f"one of {words}"
    allowed = setting.allowed
    return f"{_EXPECTED[setting.type]}{' of' if allowed.startswith('at ') else ''} {allowed}".rstrip()


# settings a key may be pasted into by mistake: an error names the value's type, never the value
_NOT_ECHOED = frozenset({"privacy.encryption_key_env", "privacy.encryption_key_file"})


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    """`raw` (from `origin`: the file, a variable, a flag) read as `setting`'s type and checked
    against its choices and range; a ConfigError of one line naming all three otherwise."""
    try:
        value = _READERS[setting.type](raw)
        if setting.choices and not set(value if setting.type is tuple else (value,)) <= set(setting.choices):
            raise ValueError(raw)
        if setting.at_least is not None and value < setting.at_least:
            raise ValueError(raw)
        if setting.at_most is not None and value > setting.at_most:
            raise ValueError(raw)
    except (TypeError, ValueError, OverflowError):
        shown = f"a value of type {type(raw).__name__}" if setting.key in _NOT_ECHOED else repr(raw)
        raise ConfigError(f"{setting.key} from {origin}: expected {expected(setting)}, got {shown}") from None
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
    try:  # a name is sent in its ASCII (IDNA) form; one that has none can never be reached
        parts.hostname.encode("idna")
    except UnicodeError:
        return f"{url!r} names a host that is no valid domain name"
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
            file_table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except UnicodeDecodeError as exc:  # TOML is UTF-8
            raise ConfigError(
                f"config file {path} is not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
        except (IsADirectoryError, PermissionError) as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    raw_providers = _provider_tables(file_table.pop("providers", []), path)
    price_overrides = file_table.get("pricing", {}).pop("models", {}) if isinstance(
        file_table.get("pricing"), dict) else {}
    if not isinstance(price_overrides, dict) or not all(isinstance(v, dict) for v in price_overrides.values()):
        raise ConfigError(f"{path}: [pricing.models] must hold one table per model, e.g. "
                          '[pricing.models."my-model"] with input = 1.0 and output = 2.0')
    key_names = _key_names(file_table.pop("api_key_names", {}), path)
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
    settings = Settings(**sections, price_overrides=_read_only(price_overrides), api_key_names=key_names)
    for key in settings.logs_api.api_keys:
        _check_api_key(key)
    _check_store(settings.store, in_file="store.path" in flat)
    try:
        trusted_networks(settings.server.trusted_proxies)
    except TrustedProxyError as exc:
        raise ConfigError(str(exc)) from None

    keyring = load_keyring(settings.privacy.encryption_key_env, settings.privacy.encryption_key_file, env)

    providers = [_provider_from(t, i) for i, t in enumerate(raw_providers)] or [DEFAULT_PROVIDER]
    upstream = upstream or env.get(UPSTREAM_ENV) or None
    if upstream:
        providers = _with_default_upstream(providers, upstream)
    return replace(settings, providers=tuple(providers), keyring=keyring)


def _key_names(raw: Any, path: str | os.PathLike[str] | None) -> Mapping[str, str]:
    """The file's `[api_key_names]` table: a key's prefix or SHA-256 hash -> a name (hashes matched in
    lower case, as entries hold them)."""
    example = '[api_key_names] maps a key\'s prefix or SHA-256 hash to a name, e.g. "sk-proj-Ab" = "ci"'
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {example}; got {_kind_of(raw)}")
    names = {}
    for key, name in raw.items():
        if not isinstance(name, str) or not name.strip() or not key.strip():
            raise ConfigError(f"{path}: {example}; {key!r} = {name!r} is not a name")
        if not _is_sha256(key) and len(key) > KEY_PREFIX_CHARS:  # entries keep no more of a key: it never matches
            raise ConfigError(f"{path}: [api_key_names] {key!r} is neither a key's prefix as entries show it (at most "
                              f"{KEY_PREFIX_CHARS} characters) nor its SHA-256 hash")
        names[key.lower() if _is_sha256(key) else key] = name
    return MappingProxyType(names)


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(ch in "0123456789abcdefABCDEF" for ch in text)


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
