"""`llmlog export`: every matching call to a JSONL or CSV file, read straight from the database
with the same batches, fields and encodings as `GET /v1/logs/export`."""

from __future__ import annotations

import sys
import time

import click

from llmlog.proxy.cli.common import config_options, open_store
from llmlog.proxy.cli.filters import filter_options, parse_options
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.query.export_format import FIELDS, FORMATS, UnknownField, format_problem, resolve_fields, write_export
from llmlog.proxy.query.params import FILTER_PARAMS


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@click.command()
@config_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True,
              help="JSON Lines (one entry per line) or CSV with a header row.")
@click.option("-o", "--output", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write [default: standard output].")
@click.option("--fields", help="Comma list of fields, named as in the API's entries [default: id, "
              "started_at, model, status, tokens, cost_usd and the other metrics]; content fields: "
              "prompt_text, output_text, request_body, response_body, request_headers, response_headers.")
@filter_options(FILTER_PARAMS)
def export(config_path, db, fmt, output, fields, **filters):
    """Export logged calls (all time unless --since) to JSONL, a JSON array, CSV or Parquet.

    A progress bar shows on a terminal; nothing but the data when piped.

    \b
    Example:
      llmlog export --format csv -o calls.csv --since 7d --model gpt-4o
      llmlog export --fields id,started_at,model,cost_usd,prompt_text -o calls.jsonl
    """
    problem = format_problem(fmt)
    if problem is not None:
        raise ValidationError(f"--format {problem}", "format")
    try:
        field_set = resolve_fields(fields.split(",") if fields else None)
    except UnknownField as exc:
        raise ValidationError(f"unknown field {exc.name!r}; known fields: {', '.join(FIELDS)}", "fields") from None
    now = int(time.time() * 1000)
    # as the API does: calls arriving during the export are not chased
    log_filter, _ = parse_options(filters, now_ms=now, default_window_ms=None, end_at_now=True)
    _, store = open_store(config_path, db)
    try:
        total = store.count(log_filter) if stderr_is_tty() else None
        with click.open_file(output, "wb") as out:
            if total is None:
                rows = write_export(store, log_filter, field_set, fmt, out)
            else:
                with click.progressbar(length=total, label="exporting", file=sys.stderr, show_pos=True) as bar:
                    rows = write_export(store, log_filter, field_set, fmt, out, progress=bar.update)
    finally:
        store.close()
    if output != "-":
        click.echo(f"exported {rows} calls to {output}", err=True)
