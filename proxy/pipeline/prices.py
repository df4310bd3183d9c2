"""The price table as configured (DESIGN §5): genai-prices' data, llmlog's corrections, the LiteLLM
file if configured, then config overrides, each later layer winning. The server prices calls with it
(and a refresh rebuilds it, proxy/pipeline/price_refresh.py); `llmlog pricing` and `reprice` read it.
And a call's cost as the store keeps it: pricing's Cost into the stored cost columns."""

from __future__ import annotations

import json

import orjson

from llmlog.pricing.prices.table import PriceTable
from llmlog.pricing.types import Cost
from llmlog.proxy.errors import ConfigError
from llmlog.proxy.settings import Settings
from llmlog.store.rows import CostColumns


def with_config_layers(table: PriceTable, config: Settings) -> PriceTable:
    """`table` (base data + llmlog's corrections) with the LiteLLM file and config overrides on top."""
    if config.pricing.litellm_file:
        table = table.with_litellm_file(config.pricing.litellm_file)
    if config.price_overrides:
        table = table.with_overrides(config.price_overrides)
    return table


def price_table_for(config: Settings) -> PriceTable:
    """The shipped data with the config's layers. A price file or override that cannot be used is
    a ConfigError, said in one line."""
    try:
        return with_config_layers(PriceTable.shipped(), config)
    except (ValueError, OSError, RecursionError) as exc:  # a bad rate, an unreadable or hostile file
        where = "prices"
        if config.pricing.litellm_file and isinstance(exc, (OSError, RecursionError, json.JSONDecodeError)):
            where = f"pricing.litellm_file {config.pricing.litellm_file}"
        raise ConfigError(f"{where}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:500]


def cost_columns(cost: Cost) -> CostColumns:
    """The stored cost columns (DESIGN §4): breakdown only when priced, never a silent zero."""
    return {
        "priced": int(cost.priced),
        "cost_micros": cost.total_micros,
        "input_cost_micros": cost.input_micros if cost.priced else None,
        "cached_input_cost_micros": cost.cached_input_micros if cost.priced else None,
        "cache_write_cost_micros": cost.cache_write_micros if cost.priced else None,
        "output_cost_micros": cost.output_micros if cost.priced else None,
        "pricing_version": cost.pricing_version,
        "cost_buckets": _buckets_json(cost) if cost.priced else None,
        "cost_nanos": cost.total_nanos if cost.priced else None,
        "service_tier_priced": None if cost.service_tier_priced is None else int(cost.service_tier_priced),
    }


def fill_cost_columns(row: CostColumns, cost: Cost) -> None:
    """Set `cost_columns(cost)` in `row`: a stored call's row, which holds these columns among its own."""
    row.update(cost_columns(cost))


def _buckets_json(cost: Cost) -> str:
    """Each billed bucket alone: its tokens, micro-dollars and rate (USD per 1M tokens)."""
    return orjson.dumps([{"bucket": name, "tokens": tokens, "cost_micros": micros, "cost_nanos": nanos,
                          "usd_per_million": rate}
                         for name, tokens, micros, rate, nanos in cost.buckets]).decode()
