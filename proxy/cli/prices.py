"""`llmlog pricing [MODEL]` and `llmlog reprice`: the price table as configured, and history repriced."""

from __future__ import annotations

import sys
import time
from decimal import Decimal

import click

from llmlog.pricing.prices.cost import price_call
from llmlog.pricing.prices.rates import RATE_FIELDS, ModelPrice
from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.types import Usage
from llmlog.proxy.cli.common import config_options, echo_json, echo_table, load, open_store
from llmlog.proxy.pipeline.prices import cost_columns, price_table_for
from llmlog.proxy.query.timeparse import parse_duration_ms
from llmlog.store.interface import PriceFn
from llmlog.store.rows import CostColumns, UsageColumns


def _table(config_path: str | None) -> PriceTable:
    """The table the proxy would use with this config: shipped, overrides, LiteLLM file."""
    config = load(config_path)
    try:
        return price_table_for(config)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"could not load prices: {exc}") from None


def _usd(value: Decimal | None, missing: str = "-") -> str:
    return missing if value is None else f"${value.normalize():f}"


def _tier_json(p: ModelPrice) -> dict | None:
    """The long-context tier's rates as billed (same fallbacks as billing; a missing 1-hour write
    rate is null: such writes above the threshold are unpriced), and any higher tiers."""
    if p.tier is None:
        return None
    out = []
    for t in (p.tier, *p.upper_tiers):
        r = p.rates(t.above_input_tokens + 1)
        out.append({"above_input_tokens": t.above_input_tokens, "input": str(r.input),
                    "cached_input": str(r.cached_input), "cache_write": str(r.cache_write),
                    "cache_write_1h": None if r.cache_write_1h is None else str(r.cache_write_1h),
                    "output": str(r.output)})
    return {**out[0], "upper": out[1:]}


def _since_ms(since: str | None) -> int | None:
    if since is None:
        return None
    try:
        return int(time.time() * 1000) - parse_duration_ms(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


@click.command("pricing")
@click.argument("model", required=False)
@click.option("--provider", help="Provider name: qualifies the lookup, or filters the listing.")
@click.option("--unpriced", is_flag=True, help="List models seen in the logs that have no price.")
@click.option("--since", help="With --unpriced: only calls this recent, e.g. 30d.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_options
def pricing(model, provider, unpriced, since, as_json, config_path, db):
    """Show the resolved price of MODEL (USD per 1M tokens), or the whole table.

    \b
    Example:
      llmlog pricing gpt-4o-2024-08-06      # prices, matched rule, source and date
      llmlog pricing --provider anthropic   # the table for one provider
      llmlog pricing --unpriced             # models in the logs with no price
    """
    table = _table(config_path)
    if unpriced:
        _show_unpriced(table, config_path, db, _since_ms(since), as_json)
    elif model:
        _show_model(table, model, provider, as_json)
    else:
        _show_table(table, provider, as_json)


def _show_model(table: PriceTable, model: str, provider: str | None, as_json: bool) -> None:
    match = table.lookup(model, provider)
    if match is None:
        raise click.ClickException(
            f"no price for {model!r}: calls to it are logged with priced=false. Add one under "
            f'[pricing.models."{model}"] in the config, or load a LiteLLM price file (pricing.litellm_file).')
    p = match.price
    rates = p.rates(0)
    layers = {f: p.layer_of(f) for f in (*RATE_FIELDS, "tier")
              if (p.tier if f == "tier" else getattr(p, f)) is not None}
    info = {"model": model, "matched": p.model, "provider": p.provider, "rule": match.rule, "origin": p.origin,
            "input": str(rates.input), "cached_input": str(rates.cached_input),
            "cache_write": str(rates.cache_write), "output": str(rates.output),
            **{f: str(getattr(p, f)) for f in EXTRA_RATES if getattr(p, f) is not None},
            "tier": _tier_json(p),
            "layers": layers, "deprecated": p.deprecated,
            "source": p.source, "date": p.date, "note": p.note, "pricing_version": table.version}
    if as_json:
        echo_json(info)
        return
    click.echo(f"{model}  →  {p.provider or '-'}/{p.model}  (rule: {match.rule}, {p.origin})"
               + ("  [deprecated]" if p.deprecated else ""))
    click.echo("USD per 1M tokens (layer each rate came from):")
    shown = [("input", "input", rates.input), ("cached input", "cached_input", rates.cached_input),
             ("cache write", "cache_write", rates.cache_write), ("output", "output", rates.output)]
    shown += [(label, f, getattr(p, f)) for label, f in EXTRA_LABELS if getattr(p, f) is not None]
    for label, field, value in shown:
        where = layers.get(field) or f"= input ({layers.get('input')})"
        click.echo(f"  {label:<19}{_usd(value):<12}{where}")
    if p.tier is not None:
        tier = p.rates(p.tier.above_input_tokens + 1)  # same fallbacks as billing
        click.echo(f"  above {p.tier.above_input_tokens:,} input tokens the whole call is billed at: input "
                   f"{_usd(tier.input)}, cached input {_usd(tier.cached_input)}, cache write "
                   f"{_usd(tier.cache_write)}, cache write 1h {_usd(tier.cache_write_1h, 'unpriced')}, "
                   f"output {_usd(tier.output)}  ({layers.get('tier')})")
    for upper in p.upper_tiers:
        click.echo(f"  above {upper.above_input_tokens:,}: input {_usd(upper.input)}, output {_usd(upper.output)}")
    click.echo(f"source: {p.source or '-'}  ({'verified ' + p.date if p.date else 'no verified date'})")
    if p.note:
        click.echo(f"note: {p.note}")
    click.echo(f"pricing version: {table.version}")


EXTRA_LABELS = (("cache write 1h", "cache_write_1h"), ("audio input", "input_audio"),
                ("audio cached input", "cached_input_audio"), ("audio output", "output_audio"))
EXTRA_RATES = tuple(f for _, f in EXTRA_LABELS)


def _show_table(table: PriceTable, provider: str | None, as_json: bool) -> None:
    wanted = provider.lower() if provider else None
    prices = sorted((p for p in table if wanted is None or (p.provider or "") == wanted),
                    key=lambda p: ((p.provider or ""), p.model))
    if as_json:
        echo_json({"pricing_version": table.version, "models": [_listed_json(p) for p in prices]})
        return
    click.echo(f"{len(prices)} models{f' from {provider}' if provider else ''} "
               f"(USD per 1M tokens; pricing version {table.version})")
    audio = any(p.input_audio is not None or p.output_audio is not None for p in prices)
    headers = ["provider", "model", "input", "cached", "write 5m", "write 1h", "output",
               *(["audio in", "audio out"] if audio else []), "tier above", "source"]
    rows = []
    for p in prices:
        r = p.rates(0)
        rows.append([p.provider or "-", p.model, _usd(r.input), _usd(r.cached_input), _usd(r.cache_write),
                     _usd(r.cache_write_1h), _usd(r.output),
                     *([_usd(r.input_audio), _usd(r.output_audio)] if audio else []),
                     f"{p.tier.above_input_tokens:,}" if p.tier else "",
                     p.origin + (f", verified {p.date}" if p.date else "")])
    echo_table(headers, rows, shrink="model")


def _listed_json(p: ModelPrice) -> dict:
    r = p.rates(0)
    return {"model": p.model, "provider": p.provider, "input": str(r.input), "cached_input": str(r.cached_input),
            "cache_write": str(r.cache_write), "output": str(r.output),
            **{f: None if getattr(r, f) is None else str(getattr(r, f))
               for f in ("cache_write_1h", "input_audio", "output_audio")},
            "tier": _tier_json(p), "origin": p.origin, "date": p.date, "source": p.source}


def _show_unpriced(table: PriceTable, config_path, db, since_ms: int | None, as_json: bool) -> None:
    _, store = open_store(config_path, db, reads_content=False)
    try:
        seen = store.model_call_counts(since_ms)
    finally:
        store.close()
    missing: dict[tuple[str, str], int] = {}
    for row in seen:
        if not (row["model"] or row["response_model"]):
            continue  # not a model call (e.g. /v1/models)
        if price_call(table, Usage(), row["provider"], row["response_model"], row["model"]).priced:
            continue
        key = (row["provider"], row["response_model"] or row["model"])
        missing[key] = missing.get(key, 0) + row["calls"]
    rows = sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))
    if as_json:
        echo_json([{"provider": p, "model": m, "calls": n} for (p, m), n in rows])
        return
    if not rows:
        click.echo("every model in the logs has a price")
        return
    echo_table(["provider", "model", "calls"], [[p, m, n] for (p, m), n in rows], shrink="model")
    click.echo('\nadd prices under [pricing.models."<model>"] in the config, then run `llmlog reprice`')


def repricer(table: PriceTable) -> PriceFn:
    """The pure callback `store.reprice` applies to each stored row."""
    def price(row: UsageColumns) -> CostColumns:
        usage = Usage(input_tokens=row["input_tokens"] or 0, output_tokens=row["output_tokens"] or 0,
                      cached_input_tokens=row["cached_input_tokens"] or 0,
                      cache_write_tokens=row["cache_write_tokens"] or 0,
                      reasoning_tokens=row["reasoning_tokens"] or 0,
                      cache_write_1h_tokens=row["cache_write_1h_tokens"] or 0,
                      input_audio_tokens=row["input_audio_tokens"] or 0,
                      output_audio_tokens=row["output_audio_tokens"] or 0,
                      service_tier=row.get("service_tier"))
        return cost_columns(price_call(table, usage, row["provider"], row["response_model"], row["model"]))
    return price


@click.command("reprice")
@click.option("--since", help="Only calls this recent, e.g. 30d, 12h (default: all).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Calls updated per transaction.")
@config_options
def reprice_cmd(since, batch_size, config_path, db):
    """Recompute stored costs from stored tokens with the current prices (config overrides included).

    \b
    Example:
      llmlog reprice --since 30d --config llmlog.toml
    """
    table = _table(config_path)
    since_ms = _since_ms(since)
    _, store = open_store(config_path, db, reads_content=False)
    try:
        if not store.try_exclusive("reprice"):  # two at once would each rewrite every cost
            raise click.ClickException("another `llmlog reprice` is running on this store; wait for it to finish")
        total = store.count_repriceable(since_ms)
        with click.progressbar(length=total, label="repricing", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            examined, changed = store.reprice(repricer(table), since_ms=since_ms, batch_size=batch_size,
                                              progress=bar.update)
    finally:
        store.close()
    click.echo(f"repriced {examined} calls with pricing version {table.version}: {changed} changed")
