"""Command-line flags made from the settings table (proxy/settings/): name, type, help, default and variable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from llmlog.proxy.settings import BY_KEY, SETTINGS, Setting

F = TypeVar("F", bound=Callable[..., Any])
# A number's flag takes text, read by the loader as the file's and the environment's values are
# (click's int() would take "٨٠٨٠" and its own message would not give the range); named as click names it.
_METAVARS: dict[type, str] = {int: "INTEGER", float: "FLOAT"}
FLAGGED = tuple(s for s in SETTINGS if s.flag)


def param_name(setting: Setting) -> str:
    """The keyword a command receives the flag's value as: `--db` is `db`."""
    assert setting.flag
    return setting.flag.lstrip("-").replace("-", "_")


def flag_help(setting: Setting) -> str:
    """`--help`'s line: the table's help, then its default and variable, e.g.
    "Port to listen on [default: 8080; env: LLMLOG_PORT]."."""
    facts = []
    default = setting.shown_default or (None if setting.default is None or setting.type is bool else setting.default)
    if default is not None:
        facts.append(f"default: {default}")
    if setting.env:
        facts.append(f"env: {setting.env}")
    text = setting.help[:1].upper() + setting.help[1:]
    return f"{text} [{'; '.join(facts)}]." if facts else f"{text}."


def setting_option(key: str) -> Callable[[F], F]:
    """The flag of one setting. Not given, it is None, so the variable, file and default still apply."""
    setting = BY_KEY[key]
    assert setting.flag, f"{key} has no flag in the settings table"
    if setting.type is bool:
        return click.option(setting.flag, param_name(setting), is_flag=True, default=None, help=flag_help(setting))
    return click.option(setting.flag, param_name(setting), type=str,
                        metavar=setting.metavar or _METAVARS.get(setting.type), help=flag_help(setting))


def setting_options(*, skip: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Every flag the table has, in its order, but those in `skip` (a shared decorator adds them)."""
    def decorate(fn: F) -> F:
        for setting in reversed(FLAGGED):  # click lists options in the order they are applied, last first
            if setting.key not in skip:
                fn = setting_option(setting.key)(fn)
        return fn
    return decorate


def overrides(params: Mapping[str, Any]) -> dict[str, Any]:
    """The command's flag values by dotted key, for `load_config(overrides=...)`."""
    return {s.key: params[param_name(s)] for s in FLAGGED if param_name(s) in params}
