"""The price table: shipped data plus config layers, and model id -> price lookup (DESIGN §5).

Lookup, case-insensitive, first hit wins:
  1. the id as sent, provider-qualified first (`groq/<id>`) so a per-provider price beats the bare
     id, then bare; a client-sent routing prefix (`openai/gpt-4o`) is also tried without it;
  2. the same after stripping one date/version suffix at a time (`-2024-08-06`, `-20241022`,
     `@20241022`, `-latest`, `-0613`/`-2411`, `-002`): only whole suffixes are removed, so
     `gpt-4o-mini-foo` never becomes `gpt-4o`;
  3. `ft:<base>:<org>::<id>`: the base is resolved as above, then billed at `ft:<base family>`
     when listed (fine-tunes cost more than their base), else at the base price.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from .litellm import parse_litellm
from .prices import ModelPrice, PriceTier, parse_entry

__all__ = ["RULES", "PROVIDER_PREFIXES", "ModelPrice", "PriceTier", "PriceMatch", "PriceTable"]

RULES = frozenset({"exact", "provider", "prefix", "fine_tune", "override"})

# Routing prefixes clients and gateways put in front of a model id (`openai/gpt-4o`,
# LiteLLM's `vertex_ai/…`). Stripped only when the rest is a known id.
PROVIDER_PREFIXES = frozenset({
    "openai", "azure", "anthropic", "google", "gemini", "vertex_ai", "vertex", "mistral",
    "deepseek", "groq", "together", "together_ai", "fireworks", "openrouter", "bedrock",
})

# A whole trailing date or version: ISO date, compact date, Vertex `@date`, `-latest`, OpenAI
# `-MMDD` / Mistral `-YYMM`, Google `-001`. Anchored to the end and to a separator.
_VERSION_SUFFIX = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|@latest|-latest|-\d{4}|-\d{3})$"
)
_MAX_STRIPS = 2


@dataclass(frozen=True, slots=True)
class PriceMatch:
    """A found price, the rule that found it, and the table key that matched."""

    price: ModelPrice
    rule: str
    matched_id: str


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


class PriceTable:
    """Immutable map of model ids to prices; each `with_…` returns a new table and version."""

    def __init__(self, entries: Mapping[str, ModelPrice], version: str) -> None:
        self._entries: dict[str, ModelPrice] = {}
        self._index: dict[str, str] = {}  # lower-case id or alias -> lower-case entry id
        self.version = version
        self._add(entries.values())
        self._looked_up: dict[tuple[str, str | None], PriceMatch | None] = {}

    def _add(self, prices: Iterable[ModelPrice]) -> None:
        for price in prices:
            key = price.model.lower()
            self._entries[key] = price
            for alias in price.aliases:
                if alias.lower() not in self._entries:  # an alias never shadows a listed id
                    self._index[alias.lower()] = key
            self._index[key] = key  # and an id always beats an older alias of the same name

    def _layer(self, prices: Mapping[str, ModelPrice], tag: str) -> PriceTable:
        table = PriceTable.__new__(PriceTable)
        table._entries = dict(self._entries)
        table._index = dict(self._index)
        table.version = f"{self.version}+{tag}"
        table._add(prices.values())
        table._looked_up = {}
        return table

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def shipped(cls) -> PriceTable:
        """The table shipped in `pricing/data/*.toml`; version = newest check date + data hash."""
        files = sorted(
            (f for f in resources.files("pricing").joinpath("data").iterdir() if f.name.endswith(".toml")),
            key=lambda f: f.name,
        )
        digest = hashlib.sha256()
        entries: dict[str, ModelPrice] = {}
        for f in files:
            data = f.read_bytes()
            digest.update(f.name.encode() + b"\0" + data)
            doc = tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
            provider = doc.get("provider")
            for model, raw in doc.get("models", {}).items():
                if model.lower() in entries:
                    raise ValueError(f"{f.name}: {model!r} is listed twice")
                entries[model.lower()] = parse_entry(
                    model, raw, origin="shipped", provider=provider or _qualifier(model),
                    where=f"{f.name}: models.{model!r}",
                )
        newest = max((p.date for p in entries.values() if p.date), default="undated")
        return cls(entries, f"shipped-{newest}+{digest.hexdigest()[:8]}")

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PriceTable:
        """Add or replace models from config `[pricing.models."name"]` tables (same keys as the data).

        An override replaces the whole entry, so a key it leaves out falls back as usual
        (`cached_input` -> `input`), never to the shipped value.
        """
        if not overrides:
            return self
        prices = {
            name: parse_entry(name, raw, origin="override", provider=_qualifier(name))
            for name, raw in overrides.items()
        }
        canonical = json.dumps(overrides, sort_keys=True, default=str).encode()
        return self._layer(prices, f"ov.{_short_hash(canonical)}")

    def with_litellm_file(self, path: str | PathLike[str]) -> PriceTable:
        """Add or replace models from a LiteLLM `model_prices_and_context_window.json` file."""
        data = Path(path).read_bytes()
        prices = parse_litellm(data, source=str(path))
        return self._layer(prices, f"litellm.{_short_hash(data)}")

    # --- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ModelPrice]:
        return iter(self._entries.values())

    def lookup(self, model: str | None, provider: str | None = None) -> PriceMatch | None:
        """The price for `model` as a client or upstream named it, or None if unknown. Answers are
        remembered (the table never changes; a proxy sees few distinct names), a bounded number."""
        if not model:
            return None
        try:
            return self._looked_up[(model, provider)]
        except KeyError:
            pass
        match = self._lookup(model, provider)
        if len(self._looked_up) >= _MAX_REMEMBERED:
            self._looked_up.clear()
        self._looked_up[(model, provider)] = match
        return match

    def _lookup(self, model: str, provider: str | None) -> PriceMatch | None:
        ref = model.strip().lower()
        prov = provider.strip().lower() if provider else None
        hit = self._resolve(ref, prov)
        if hit is None and ref.startswith("ft:"):
            hit = self._fine_tune(ref, prov)
        if hit is None:
            return None
        key, rule = hit
        price = self._entries[self._index[key]]
        if price.origin != "shipped":
            rule = "override"
        return PriceMatch(price=price, rule=rule, matched_id=key)

    def _forms(self, ref: str, prov: str | None) -> Iterator[tuple[str, str]]:
        if prov:
            yield f"{prov}/{ref}", "provider"
        yield ref, "exact"
        head, sep, rest = ref.partition("/")
        if sep and rest and (head in PROVIDER_PREFIXES or head == prov):
            yield rest, "provider"

    def _resolve(self, ref: str, prov: str | None) -> tuple[str, str] | None:
        for i, candidate in enumerate(_strip_chain(ref)):
            for key, rule in self._forms(candidate, prov):
                if key in self._index:
                    return key, rule if i == 0 else "prefix"
        return None

    def _fine_tune(self, ref: str, prov: str | None) -> tuple[str, str] | None:
        base = ref.split(":")[1] if ref.count(":") >= 1 else ""
        hit = self._resolve(base, prov) if base else None
        if hit is None:
            return None
        base_entry = self._index[hit[0]]
        for candidate in (*_strip_chain(base), base_entry):
            if f"ft:{candidate}" in self._index:
                return f"ft:{candidate}", "fine_tune"
        return hit[0], "fine_tune"


_MAX_REMEMBERED = 4096


def _strip_chain(ref: str) -> list[str]:
    """`ref`, then `ref` with one, then two, trailing version suffixes removed."""
    chain = [ref]
    for _ in range(_MAX_STRIPS):
        shorter = _VERSION_SUFFIX.sub("", chain[-1])
        if shorter == chain[-1] or not shorter:
            break
        chain.append(shorter)
    return chain


def _qualifier(model: str) -> str | None:
    head, sep, _ = model.partition("/")
    return head.lower() if sep else None
