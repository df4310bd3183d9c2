"""`llmlog logs` and `llmlog show`: the logs in a terminal, read straight from the SQLite file."""

from __future__ import annotations

import click
import orjson

from llmlog.proxy.cli.common import (
    color,
    config_options,
    echo_json,
    echo_jsonl,
    echo_table,
    format_usd,
    open_store,
    terminal_safe,
)
from llmlog.proxy.cli.filters import filter_options, parse_options
from llmlog.proxy.errors import NotFound, ValidationError
from llmlog.proxy.query.present import PREVIEW_CHARS, listed_entry, listed_with_previews, present_entry, present_page
from llmlog.store.backends import printable
from llmlog.store.filters import CursorError

STATUS_COLORS = {"success": None, "error": "red", "timeout": "yellow", "client_closed": "magenta"}
# The table's prompt column shows at most this much of the list's preview (PREVIEW_CHARS, 200: what
# `--json` and the API give), less where the terminal is narrower; a prompt cut shows "…".
TABLE_PREVIEW_CHARS = 120


def format_latency(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.0f}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def table_preview(preview: str | None) -> str:
    """The prompt column: the preview on one line, at most TABLE_PREVIEW_CHARS, ending in "…" when
    the prompt goes on (`preview` holds PREVIEW_CHARS + 1 characters of a longer prompt)."""
    if not preview:
        return ""
    cut = len(preview) > PREVIEW_CHARS
    text = " ".join(preview[:PREVIEW_CHARS].split())
    if len(text) > TABLE_PREVIEW_CHARS:
        text, cut = text[:TABLE_PREVIEW_CHARS - 1].rstrip(), True
    return text + "…" if cut else text


def table_row(entry: dict, preview: str | None) -> list:
    tokens = entry["total_tokens"]
    return [
        entry["timestamp"][:19].replace("T", " "),
        entry["model"] or "-",
        entry["status"] if entry["status_code"] is None else f"{entry['status']} {entry['status_code']}",
        "" if tokens is None else tokens,
        format_usd(entry["cost_usd"], "unpriced"),
        format_latency(entry["duration_ms"]),
        entry["user_id"] or "",
        table_preview(preview),
    ]


@click.command("logs")
@config_options
@filter_options()
@click.option("--json", "as_json", is_flag=True, help="The page as JSON, exactly as GET /v1/logs returns it.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One entry per line as JSON.")
def logs(config_path, db, as_json, as_jsonl, **options):
    """List logged calls, newest first (the last 7 days unless --since/--start-date says otherwise).

    Every filter of GET /v1/logs is an option; list options take repeats or comma lists.

    \b
    Examples:
      llmlog logs -n 20
      llmlog logs --model gpt-4o --failed-only --since 24h
      llmlog logs --q "refund policy" --json
    """
    log_filter, page = parse_options(options)
    config, store = open_store(config_path, db, none_if_default_missing=True)
    if store is None:
        click.echo(f"no calls logged yet (no database at {printable(config.db_path)}; start `llmlog serve`)")
        return
    try:
        try:
            result, previews = listed_with_previews(store, log_filter, page)
        except CursorError as exc:
            raise ValidationError(str(exc), "cursor") from None
        if as_json:
            echo_json(present_page(result, page, previews, config.api_key_names))
            return
        shown = [listed_entry(row, previews.get(row["id"]), config.api_key_names) for row in result.rows]
        if as_jsonl:
            echo_jsonl(shown)
            return
        if not shown:
            click.echo("no calls match these filters" if store.any_calls() else "no calls logged yet")
            return
        echo_table(["time (UTC)", "model", "status", "tokens", "cost", "latency", "user", "prompt"],
                   [table_row(e, (previews.get(e["id"]) or {}).get("prompt_text")) for e in shown],
                   shrink="prompt",
                   colors=[STATUS_COLORS.get(e["status"]) for e in shown])
        more = f"; next page: --cursor {result.next_cursor}" if result.next_cursor else ""
        click.echo(color(f"{len(shown)} of {result.total} calls{more}", "bright_black"), err=True)
    finally:
        store.close()


def _pretty(value) -> str:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    return str(value)


SHOW_FIELDS = ("id", "timestamp", "duration_ms", "ttfb_ms", "provider", "method", "path", "model", "response_model",
               "stream", "status", "status_code", "error", "finish_reason", "input_tokens", "cached_input_tokens",
               "cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens", "usage_source",
               "token_encoding", "cost_usd", "priced", "pricing_version", "user_id", "api_key_prefix", "api_key_name",
               "request_ip", "user_agent", "tags", "environment", "task_type", "flow", "customer_id", "agent_role",
               "tool_call_count", "metadata", "feedback", "pii", "trace_id", "session_id", "parent_id", "root_id",
               "depth", "do_not_track")


def echo_entry(entry: dict) -> None:
    width = max(len(name) for name in SHOW_FIELDS)
    for name in SHOW_FIELDS:
        value = entry.get(name)
        if name == "cost_usd":
            value = format_usd(value if entry["priced"] else None)
        elif name == "metadata":
            value = (value or {}).get("custom")  # x-llmlog-metadata; the rest of the group has lines of its own
        elif value == []:
            value = None
        if value is not None:
            if isinstance(value, list):
                shown = ", ".join(str(v) for v in value)
            elif isinstance(value, dict):
                shown = orjson.dumps(value).decode()  # one line here; bodies below are indented
            else:
                shown = str(value)
            click.echo(f"{color(name.ljust(width), 'cyan')}  {terminal_safe(shown)}")
    if "request" not in entry:
        click.echo("\n(no content kept: " + ("do-not-track" if entry["do_not_track"] else "pruned or not captured")
                   + ")")
        return
    for title, section in (("prompt", entry.get("prompt")), ("output", entry.get("output"))):
        if section:
            click.echo(f"\n{color('── ' + title, 'cyan')}\n{terminal_safe(section['text'], multiline=True)}")
    sections = (("request body", entry["request"]["body"]), ("request headers", entry["request"]["headers"]),
                ("response (assembled from the stream)", entry["response"]["assembled"]),
                ("response body", None if entry["response"]["assembled"] else entry["response"]["body"]))
    for title, value in sections:
        if value:
            click.echo(f"\n{color('── ' + title, 'cyan')}\n{terminal_safe(_pretty(value), multiline=True)}")
    if entry.get("events_count"):
        click.echo(f"\n{entry['events_count']} stream events (GET /v1/logs/{entry['id']}/events)")


@click.command("show")
@config_options
@click.argument("call_id")
@click.option("--json", "as_json", is_flag=True, help="The entry as JSON, exactly as GET /v1/logs/ID returns it.")
def show(config_path, db, call_id, as_json):
    """Show one logged call whole: metrics, prompt, output, bodies (content pretty-printed).

    \b
    Example:
      llmlog show 01JD3X8Q4M7K2Z9R5T6V8W0Y1A
    """
    config, store = open_store(config_path, db, none_if_default_missing=True)
    if store is None:
        raise click.ClickException(f"no calls logged yet (no database at {printable(config.db_path)})")
    try:
        found = store.get_log(call_id)
    finally:
        store.close()
    if found is None:
        raise NotFound(f"no log entry with id {call_id!r} (see `llmlog logs`)", "call_id")
    entry = present_entry(*found, key_names=config.api_key_names, providers=config.providers)
    if as_json:
        echo_json(entry)
    else:
        echo_entry(entry)
