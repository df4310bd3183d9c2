"""What every CLI command shares: the config/db options, opening the store, and printing."""

from __future__ import annotations

import functools
import re
import shutil
import sys
from collections.abc import Sequence
from typing import Any, Literal, overload

import click
import orjson

from llmlog.proxy.cli.flags import setting_option
from llmlog.proxy.settings import Settings, load_config
from llmlog.store.interface import Store, StoreError
from llmlog.store.sealing import verify_keys


def installed_version() -> str:
    """The version in the installed distribution's metadata (pyproject.toml's), one source of truth."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("llmlog")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def load(config_path: str | None, overrides: dict | None = None, upstream: str | None = None) -> Settings:
    """The settings for this command; a ConfigError becomes one `Error:` line in cli.py's map."""
    return load_config(config_path, overrides=overrides or {}, upstream=upstream)


def config_options(fn):
    """`--config` and `--db`, on every command that opens the database."""
    # checked by the loader, not click: a directory or an unreadable file is then one `Error:` line
    # naming the file, as a missing one is, not click's usage error naming --config (also for LLMLOG_CONFIG)
    @click.option("--config", "config_path", type=click.Path(readable=False), metavar="FILE", envvar="LLMLOG_CONFIG",
                  help="TOML config file (see config.example.toml) [env: LLMLOG_CONFIG].")
    @setting_option("store.path")  # --db
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@overload
def open_store(config_path: str | None, db: str | None, *, create: bool = False,
               none_if_default_missing: Literal[False] = False,
               reads_content: bool = True) -> tuple[Settings, Store]: ...
@overload
def open_store(config_path: str | None, db: str | None, *, create: bool = False,
               none_if_default_missing: bool, reads_content: bool = True) -> tuple[Settings, Store | None]: ...
def open_store(config_path: str | None, db: str | None, *, create: bool = False,
               none_if_default_missing: bool = False, reads_content: bool = True) -> tuple[Settings, Store | None]:
    """The configured database, or a ClickException a person can act on.

    `none_if_default_missing`: no database at the default place means nothing was logged yet, so
    the store is None; a path the user named (--db, LLMLOG_DB, config) that does not exist is
    still an error they can fix. `reads_content`: the command shows content, so a store holding
    content under a key not configured is refused before it starts (store/sealing.py `verify_keys`)."""
    config = load(config_path, {"store.path": db})
    try:
        store = config.open_store(create=create)
        if reads_content:
            try:
                verify_keys(store)
            except BaseException:
                store.close()
                raise
        return config, store
    except StoreError as exc:
        if none_if_default_missing and config.store.path is None and "no llmlog database" in str(exc):
            return config, None
        raise click.ClickException(str(exc)) from None


def format_usd(value: float | None, missing: str = "unpriced") -> str:
    """Dollars exact to the nano-dollar (costs are whole nano-dollars): `$0.0000001`, `$0.0000123`,
    `$2.50`; trailing zeros trimmed, at least two decimals. None (no price) is `missing`."""
    if value is None:
        return missing
    whole, _, frac = f"{value:,.9f}".partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"${whole}.{frac}"


# What a terminal acts on instead of showing, in text read from the store (a prompt, a model name, a
# body: whatever a client sent): C0 controls and DEL (ESC starts every escape sequence: a window title,
# a hyperlink, a cleared screen), C1 controls (U+0080-U+009F, CSI and OSC among them), and the bidi
# embeddings, overrides and isolates that make a line read in another order than it is stored
# (U+202A-U+202E, U+2066-U+2069). The CLI prints these escaped, as `\x1b` and `\u202e`.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # keeps line breaks and tabs
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}]")  # orjson escapes C0 itself
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal_safe(text: str, *, multiline: bool = False) -> str:
    """`text` with every character a terminal would act on shown escaped (see above). `multiline`
    (a prompt, an output, a body shown whole): line breaks and tabs stay, a CRLF is one line break."""
    if multiline:
        return _UNSAFE_IN_TEXT.sub(_escaped, text.replace("\r\n", "\n"))
    return _UNSAFE_IN_LINE.sub(_escaped, text)


def _json_safe(text: str) -> str:
    """orjson's output with DEL, C1 and bidi controls written as JSON escapes (`\u009b`): the same
    JSON value, which a terminal shows instead of acting on. They only occur inside strings."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo_json(value: Any) -> None:
    click.echo(_json_safe(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()))


def echo_jsonl(values) -> None:
    for value in values:
        click.echo(_json_safe(orjson.dumps(value).decode()))


def terminal_width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


def color(text: str, fg: str | None) -> str:
    """Colour only on a terminal."""
    return click.style(text, fg=fg) if fg and sys.stdout.isatty() else text


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, shrink: str | None = None,
               colors: Sequence[str | None] | None = None) -> None:
    """A plain aligned table that fits the terminal; the `shrink` column gives way first. Every
    cell is shown terminal-safe: table cells are often text from the store."""
    headers = [terminal_safe(h) for h in headers]
    cells = [[("" if v is None else terminal_safe(str(v))) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if shrink in headers:
        i = headers.index(shrink)
        spare = terminal_width() - (sum(widths) + 2 * (len(widths) - 1) - widths[i])
        widths[i] = max(10, min(widths[i], spare))
        for row in cells:
            if len(row[i]) > widths[i]:
                row[i] = row[i][: widths[i] - 1] + "…"
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        click.echo(color(line, colors[n]) if colors else line)
