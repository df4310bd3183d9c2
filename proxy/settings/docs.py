"""The docs table (docs/settings.md) made from the settings table: `python -m llmlog.proxy.settings --markdown`."""

from __future__ import annotations

from typing import Any

from llmlog.proxy.booleans import PAIRS
from llmlog.proxy.settings.table import OTHER_ENV, PROVIDER_KEYS, SECTIONS, SETTINGS, Setting

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
        ("<!-- Generated from the table in proxy/settings/table.py; do not edit here. "
         "Regenerate: python -m llmlog.proxy.settings --markdown > docs/settings.md -->"),
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
              + "), price overrides (`[pricing.models.\"name\"]`) and names for provider keys "
              "(`[api_key_names]`: a key's prefix as entries show it, or its SHA-256 hash, = a name, shown as "
              "`api_key_name`) are tables of their own: see [config.example.toml](../config.example.toml).", ""]
    return "\n".join(lines)
