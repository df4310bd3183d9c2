"""`llmlog summary` and `llmlog stats`: the API's aggregates, read straight from the database.

Options are every filter the API takes (proxy/cli/filters.py, as for `llmlog logs`); they become the
same query parameters and go through the same validation, store functions and shaping
(proxy/query/aggregates.py), so `--json` prints exactly what `GET /v1/logs/summary|stats` returns.
"""

from __future__ import annotations

import click

from llmlog.proxy.cli.common import config_options, echo_json, echo_table, format_usd, open_store
from llmlog.proxy.cli.filters import filter_options, query_of
from llmlog.proxy.query.aggregates import stats_json, stats_request, summary_filter, summary_json
from llmlog.proxy.query.params import FILTER_PARAMS
from llmlog.proxy.query.timeparse import now_ms
from llmlog.store.figures import GROUP_BY, AggregateError


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


@click.command()
@config_options
@filter_options(FILTER_PARAMS)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of tables.")
def summary(config_path, db, as_json, **kwargs):
    """Totals, latency percentiles and breakdowns by model, provider, status and task type.

    \b
    Example:
      llmlog summary --since 24h --model gpt-4o-mini
    """
    f = summary_filter(query_of(kwargs, FILTER_PARAMS), now_ms())
    _, store = open_store(config_path, db, reads_content=False)
    try:
        result = summary_json(store.summary(f), f)
    finally:
        store.close()
    if as_json:
        echo_json(result)
        return
    s, period = result["summary"], result["period"]
    click.echo(f"{period['start_date']} → {period['end_date']} ({period['days']} days)")
    rate = "-" if s["success_rate"] is None else f"{s['success_rate']:.1%}"
    echo_table(("figure", "value"), [
        ("calls", f"{s['total_calls']:,} ({s['successful_calls']:,} ok, {s['failed_calls']:,} failed, {rate} ok)"),
        ("cost", f"{format_usd(s['total_cost_usd'])} (avg {format_usd(s['avg_cost_per_call'], '-')} per priced call, "
                 f"{s['unpriced_calls']:,} unpriced)"),
        ("tokens", f"{s['total_tokens']:,} ({s['input_tokens']:,} in, {s['output_tokens']:,} out)"),
        ("latency ms", f"avg {_num(s['avg_latency_ms'])}, p50 {_num(s['p50_latency_ms'])}, "
                       f"p95 {_num(s['p95_latency_ms'])}, p99 {_num(s['p99_latency_ms'])}"),
        ("ttfb ms", f"p50 {_num(s['p50_ttfb_ms'])}, p95 {_num(s['p95_ttfb_ms'])}, "
                    f"p99 {_num(s['p99_ttfb_ms'])} ({s['calls_with_ttfb']:,} calls)"),
        *_feedback_rows(result["feedback"]),
        *_pii_rows(result["pii"]),
    ])
    for title, breakdown in (("model", result["by_model"]), ("provider", result["by_provider"])):
        if breakdown:
            click.echo()
            echo_table((title, "calls", "share", "cost", "avg ms"), [
                (key, f"{v['calls']:,}", f"{v['percentage']:.1%}", format_usd(v["total_cost_usd"]),
                 _num(v["avg_latency_ms"])) for key, v in breakdown.items()], shrink=title)
    for title, counts in (("status", result["by_status"]), ("task type", result["by_task_type"])):
        if counts:
            click.echo()
            echo_table((title, "calls"), [(key, f"{n:,}") for key, n in counts.items()], shrink=title)


def _feedback_rows(feedback: dict) -> list[tuple[str, str]]:
    """The summary's feedback line, only when some call has feedback (output without it is unchanged)."""
    if not feedback["calls_with_feedback"]:
        return []
    scores = ", ".join(f"{row['calls']:,} x {row['score']}" for row in feedback["by_score"])
    return [("feedback", f"{feedback['calls_with_feedback']:,} calls, avg score "
                         f"{_num(feedback['avg_feedback_score'], 2)} ({scores})")]


def _pii_rows(pii: dict) -> list[tuple[str, str]]:
    """The summary's personal data line (calls, in all and per kind), only when some call has any."""
    if not pii["calls"]:
        return []
    kinds = ", ".join(f"{kind} {calls:,}" for kind, calls in pii["by_kind"].items())
    return [("pii", f"{pii['calls']:,} calls ({kinds})")]


@click.command()
@config_options
@click.option("--group-by", "group_by", required=True, type=click.Choice(GROUP_BY),
              help="A dimension, or a UTC time bucket (empty buckets shown).")
@filter_options(FILTER_PARAMS)
@click.option("--compare", is_flag=True, help="Also show the previous period of equal length.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")
def stats(config_path, db, group_by, compare, as_json, **kwargs):
    """Calls, tokens, cost, errors and latency percentiles per group.

    \b
    Example:
      llmlog stats --group-by day --since 14d --model gpt-4o
      llmlog stats --group-by user --since 24h --json
    """
    params = query_of(kwargs, FILTER_PARAMS)
    params["group_by"] = group_by
    if compare:
        params["compare"] = "previous"
    f, group_by, compare_previous = stats_request(params, now_ms())
    _, store = open_store(config_path, db, reads_content=False)
    try:
        current, previous = store.stats(f, group_by, compare_previous)
    except AggregateError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    result = stats_json(current, previous)
    if as_json:
        echo_json(result)
        return
    _print_stats(result, group_by)
    if "previous" in result:
        click.echo("\nprevious period:")
        _print_stats(result["previous"], group_by)


def _print_stats(block: dict, group_by: str) -> None:
    period = block["period"]
    click.echo(f"{period['start_date']} → {period['end_date']}")
    rows = [(("(none)" if g["key"] is None else g["key"]), f"{g['count']:,}", f"{g['error_count']:,}",
             f"{g['total_tokens']:,}", format_usd(g["cost_usd"]), _num(g["avg_latency_ms"]), _num(g["p50_latency_ms"]),
             _num(g["p95_latency_ms"]), _num(g["p99_latency_ms"])) for g in block["groups"]]
    t = block["totals"]
    rows.append(("total", f"{t['count']:,}", f"{t['error_count']:,}", f"{t['total_tokens']:,}",
                 format_usd(t["cost_usd"]), _num(t["avg_latency_ms"]), _num(t["p50_latency_ms"]),
                 _num(t["p95_latency_ms"]), _num(t["p99_latency_ms"])))
    echo_table((group_by, "calls", "errors", "tokens", "cost", "avg ms", "p50", "p95", "p99"), rows, shrink=group_by)
