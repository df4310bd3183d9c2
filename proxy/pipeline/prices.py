"""The price table as configured (DESIGN §5): genai-prices' data, llmlog's corrections, the LiteLLM
file if configured, then config overrides, each later layer winning. The server prices calls with it
(and a refresh rebuilds it, proxy/pipeline/price_refresh.py); `llmlog pricing` and `reprice` read it."""

from __future__ import annotations

import json

from pricing.prices.table import PriceTable

from proxy.settings import ConfigError, Settings


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
