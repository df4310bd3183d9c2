"""genai-prices' published file (`data.json`) made from the installed package's data, for tests
that serve it from a local server: the package ships Python objects, not the JSON file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from typing import Any


def to_raw(value: Any) -> Any:
    """genai-prices' provider objects as the JSON structure its published file holds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if not f.name.startswith("_") and item is not None:
                out[f.name.rstrip("_")] = to_raw(item)  # `or_`/`and_` are `or`/`and` in the file
        return out
    if type(value).__name__ == "ModelPrice" and hasattr(value, "_comparable_values"):
        return {k: to_raw(v) for k, v in value._comparable_values().items()}
    if isinstance(value, list | tuple):
        return [to_raw(v) for v in value]
    if isinstance(value, dict):
        return {k: to_raw(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def published_file(changes: dict[tuple[str, str], dict[str, str]] | None = None) -> bytes:
    """The installed data as genai-prices publishes it, with `changes`: (provider id, model id) ->
    {genai-prices price key: new value}, e.g. {("openai", "gpt-4o-mini"): {"input_mtok": "100"}}."""
    from genai_prices.data import providers

    raw = to_raw(providers)
    for (provider_id, model_id), prices in (changes or {}).items():
        model = next(m for p in raw if p["id"] == provider_id for m in p["models"] if m["id"] == model_id)
        assert isinstance(model["prices"], dict), "a model with one unconditional price set"
        model["prices"].update(prices)
    return json.dumps(raw).encode()
