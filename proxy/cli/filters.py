"""The logs API's filter and page parameters as click options, validated by the same code as the API.

Options are generated from proxy/query/params.py (FILTER_PARAMS, PAGE_PARAMS), so the CLI can never
offer a filter the API lacks or read one differently. A value the query layer refuses is a
ValidationError naming its parameter; cli.py words it with the option's name (`option_name`).
"""

from __future__ import annotations

import re
import time

import click
from multidict import MultiDict

from llmlog.proxy.query.params import (
    DEFAULT_WINDOW_MS,
    FILTER_PARAMS,
    PAGE_PARAMS,
    Param,
    Query,
    parse_filter,
    parse_page,
)
from llmlog.store.filters import LogFilter, Page

FLAG_PARAMS = frozenset({"success_only", "failed_only", "root_only"})
# true/false filters as --name/--no-name switches; unset means either
SWITCH_PARAMS = {"stream": "Only streamed (--stream) or only non-streamed (--no-stream) calls.",
                 "do_not_track": "Only do-not-track calls (--do-not-track) or only tracked ones (--no-do-not-track).",
                 "feedback": "Only calls with feedback (--feedback) or only calls without (--no-feedback)."}
_BARE_DURATION = re.compile(r"^\d+(?:\.\d+)?[smhdw]$")
EXTRA_NAMES = {"start_date": ("--since",), "end_date": ("--until",), "limit": ("-n",), "q": ("--search",),
               "user_id": ("--user",), "api_key_id": ("--api-key",)}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# what the CLI calls a parameter in its messages, where that differs from the API's name
CLI_SPELLING = {"start_date": "--since", "end_date": "--until"}


def option_name(name: str) -> str:
    return CLI_SPELLING.get(name) or "--" + name.replace("_", "-")


def _option(param: Param):
    names = ["--" + param.name.replace("_", "-"), *("--" + a.replace("_", "-") for a in param.aliases),
             *EXTRA_NAMES.get(param.name, ())]
    dest = param.name
    if param.name in FLAG_PARAMS:
        return click.option(*names, dest, is_flag=True, default=False, help=_sentence(param.help) + ".")
    if param.name in SWITCH_PARAMS:
        return click.option(f"--{param.name}/--no-{param.name}", dest, default=None, help=SWITCH_PARAMS[param.name])
    help_text = _sentence(param.help)
    if param.kind in ("list", "int_list"):
        return click.option(*names, dest, multiple=True, help=help_text + " (repeat or comma list).")
    if param.kind == "time":
        help_text += "; also 24h, 7d"
    return click.option(*names, dest, help=help_text + ".")


def filter_options(params: tuple[Param, ...] = FILTER_PARAMS + PAGE_PARAMS):
    """A decorator adding every filter and page parameter of GET /v1/logs (or just `params`) as options."""
    def add(fn):
        for param in reversed(params):
            fn = _option(param)(fn)
        return fn
    return add


def _as_query_value(param: Param, value) -> list[str]:
    if param.name in SWITCH_PARAMS:  # before the test below: False (--no-stream) is a value here
        return [] if value is None else ["true" if value else "false"]
    if value is None or value == () or value is False:
        return []
    if param.name in FLAG_PARAMS:
        return ["true"]
    if isinstance(value, tuple):
        return list(value)
    text = str(value)
    if param.kind == "time" and _BARE_DURATION.match(text.strip().lower()):
        text = "-" + text.strip()  # `--since 7d` means the last 7 days
    return [text]


def query_of(options: dict, params: tuple[Param, ...] = FILTER_PARAMS + PAGE_PARAMS) -> MultiDict:
    """The API query parameters these option values stand for (options named by parameter)."""
    raw: MultiDict[str] = MultiDict()
    for param in params:
        for value in _as_query_value(param, options.get(param.name)):
            raw.add(param.name, value)
    return raw


def parse_options(options: dict, *, now_ms: int | None = None, default_window_ms: int | None = DEFAULT_WINDOW_MS,
                  end_at_now: bool = False) -> tuple[LogFilter, Page]:
    """The same LogFilter and Page the API builds for these values, or the same ValidationError."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    q = Query(query_of(options), FILTER_PARAMS + PAGE_PARAMS)
    return parse_filter(q, now, default_window_ms=default_window_ms, end_at_now=end_at_now), parse_page(q)
