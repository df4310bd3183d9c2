"""The price table: genai-prices' data under llmlog's layers, and model id -> price lookup (DESIGN §5).

Layers, lowest first; each rate of an entry remembers which one it came from:
  1. genai-prices (the installed wheel's data, or a refreshed copy of its published file);
  2. llmlog's corrections, `pricing/data/*.toml`: what genai-prices lacks or gets wrong, each
     with its source and the date it was verified; merged field by field onto an existing entry;
  3. a LiteLLM price file, if configured, merged field by field (never dropping a tier);
  4. config `[pricing.models."name"]` overrides, each replacing the whole entry it names.

Lookup, case-insensitive, first hit wins (pricing/prices/names.py lists the forms of an id):
  1. exact keys: each form of the id (provider-qualified first, then bare): model ids and the
     ids genai-prices' `equals` clauses list, corrections, LiteLLM and config names;
  2. match rules: genai-prices' other clauses (`starts_with`, `contains`, `regex`…) of the
     provider the form names (then the providers it falls back to), or for a bare id, of the
     first-party provider whose naming claims it;
  3. `ft:` fine-tunes only reach an entry written for fine-tunes (`ft:gpt-4o-mini`, or a rule
     whose text starts `ft:`): a fine-tune without its own price is unpriced, never its base's.
Bare ids reach only first-party models (`gpt-4o`, `claude-…`); an open model is priced per host.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from llmlog.pricing.prices import genai
from llmlog.pricing.prices.litellm import parse_litellm_fields
from llmlog.pricing.prices.match import Rule, matches
from llmlog.pricing.prices.names import PROVIDER_ALIASES, forms, provider_id
from llmlog.pricing.prices.rates import ModelPrice, PriceTier, TierRates, merge_fields, parse_entry, parse_fields

__all__ = ["RULES", "PROVIDER_PREFIXES", "ModelPrice", "PriceTier", "PriceMatch", "PriceTable"]

RULES = frozenset({"exact", "provider", "prefix", "match", "fine_tune", "override"})

# Routing prefixes clients and gateways put in front of a model id (`openai/gpt-4o`, LiteLLM's
# `vertex_ai/…`), beyond genai-prices' own provider ids. Stripped only when the rest is known.
PROVIDER_PREFIXES = frozenset({
    "openai", "azure", "anthropic", "google", "mistral", "deepseek", "groq", "together",
    "fireworks", "openrouter", "x-ai", "aws", "cohere", *PROVIDER_ALIASES,
})

_MAX_REMEMBERED = 4096

log = logging.getLogger("llmlog.pricing")


@dataclass(frozen=True, slots=True)
class PriceMatch:
    """A found price, the rule that found it, and the table key that matched."""

    price: ModelPrice
    rule: str
    matched_id: str


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


# The longest model id looked up; real ids (Bedrock ARNs, Vertex resource paths) are far shorter.
MAX_MODEL_ID_CHARS = 512

def _plain(value: Any) -> Any:
    """Read-only settings (proxy/settings/: mappings, tuples) as json.dumps takes them, the same
    text as the dicts and lists the config file was read into, so the pricing version is unchanged."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class PriceTable:
    """Immutable map of model ids to prices; each `with_…` returns a new table and version."""

    def __init__(self, base: genai.BaseData, version: str | None = None) -> None:
        self._entries: dict[str, ModelPrice] = dict(base.entries)
        self._index: dict[str, str] = dict(base.index)
        self._base = base  # rules and provider facts: shared, never changed
        self._known = frozenset(base.provider_names) | PROVIDER_PREFIXES
        self.version = version or base.version
        self._looked_up: dict[tuple[str, str | None], PriceMatch | None] = {}

    def _copy(self, tag: str) -> PriceTable:
        table = PriceTable.__new__(PriceTable)
        table._entries = dict(self._entries)
        table._index = dict(self._index)
        table._base = self._base
        table._known = self._known
        table.version = f"{self.version}+{tag}"
        table._looked_up = {}
        return table

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def shipped(cls, today: dt.date | None = None) -> PriceTable:
        """genai-prices' data from its installed wheel, with llmlog's corrections on top.

        `today` picks the time-conditional prices in force (default: the UTC date now)."""
        return cls.from_providers(genai.shipped_providers(), f"genai-prices {genai.package_version()}", today)

    @classmethod
    def from_providers(cls, providers: Any, label: str, today: dt.date | None = None) -> PriceTable:
        """A base table from genai-prices provider objects, with llmlog's corrections on top."""
        day = today or dt.datetime.now(dt.UTC).date()
        return cls(genai.build(providers, day, label)).with_corrections()

    def with_corrections(self) -> PriceTable:
        """llmlog's corrections (`pricing/data/*.toml`) merged field by field onto the table."""
        files = sorted(
            (f for f in resources.files("llmlog.pricing").joinpath("data").iterdir() if f.name.endswith(".toml")),
            key=lambda f: f.name,
        )
        digest = hashlib.sha256()
        table = self._copy("")
        seen: set[str] = set()
        for f in files:
            data = f.read_bytes()
            digest.update(f.name.encode() + b"\0" + data)
            doc = tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
            provider = doc.get("provider")
            for name, raw in doc.get("models", {}).items():
                where = f"{f.name}: models.{name!r}"
                if name.lower() in seen:
                    raise ValueError(f"{where}: listed twice")
                seen.add(name.lower())
                if not isinstance(raw, Mapping) or not raw.get("source"):
                    raise ValueError(f"{where}: a correction names its source")
                fields = parse_fields(raw, where)
                layer = f"correction ({raw['source']}, {_verified(fields.get('date'))})"
                table._merge(name, provider, fields, origin="correction", layer=layer, where=where)
        table.version = f"{self.version}+corr.{digest.hexdigest()[:8]}"
        return table

    def _find_key(self, name: str, provider: str | None) -> str | None:
        """The entry a layer's name means: exactly its key or a listed id, qualified first."""
        ref = name.strip().lower()
        prov = provider_id(provider)
        if prov and f"{prov}/{ref}" in self._index:
            return self._index[f"{prov}/{ref}"]
        return self._index.get(ref)

    def _merge(self, name: str, provider: str | None, fields: Mapping[str, Any], *, origin: str,
               layer: str, where: str) -> None:
        key = self._find_key(name, provider)
        if key is not None:
            entry = self._entries[key]
            if key.split("/", 1)[-1] == name.lower() or key == name.lower():
                self._entries[key] = merge_fields(entry, fields, origin=origin, layer=layer)
                self._add_names(key, fields.get("aliases", ()), provider)
                return
            # `name` is one of several ids of `entry` (`mistral-large-latest` of Large 2): it gets
            # its own entry, starting from that one, and the other ids keep their price.
            base = replace(entry, model=name, aliases=())
        else:
            if fields.get("input") is None or fields.get("output") is None:
                raise ValueError(f"{where}: not a known model, so 'input' and 'output' are needed")
            base = ModelPrice(model=name, input=fields["input"], output=fields["output"],
                              provider=provider_id(provider) or _qualifier(name), origin=origin)
        self._add(merge_fields(base, fields, origin=origin, layer=layer), provider)

    def _add(self, price: ModelPrice, provider: str | None) -> None:
        prov = provider_id(provider)
        key = f"{prov}/{price.model}".lower() if prov else price.model.lower()
        self._entries[key] = price
        self._index[key] = key
        if prov is None or prov in genai.FIRST_PARTY:
            self._index[price.model.lower()] = key  # a layer's own name beats an older alias
        self._add_names(key, price.aliases, provider)

    def _add_names(self, key: str, aliases: tuple[str, ...], provider: str | None) -> None:
        prov = provider_id(provider)
        for alias in aliases:
            a = alias.lower()
            if prov:
                self._index[f"{prov}/{a}"] = key
            if prov is None or prov in genai.FIRST_PARTY:
                self._index.setdefault(a, key)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PriceTable:
        """Add or replace models from config `[pricing.models."name"]` tables (same keys as the data).

        An override replaces the whole entry it names, so a key it leaves out falls back as usual
        (`cached_input` -> `input`), never to the value underneath; every id that reached the
        entry (its aliases, genai-prices' ids) now reaches the override."""
        if not overrides:
            return self
        table = self._copy("")
        for name, raw in overrides.items():
            price = parse_entry(name, raw, origin="override", provider=_qualifier(name), layer="config")
            key = table._find_key(name, None)
            if key is not None:
                old = table._entries[key]
                table._entries[key] = replace(price, model=old.model, provider=old.provider)
                table._add_names(key, price.aliases, None)
            else:
                table._add(price, None)
        canonical = json.dumps(_plain(overrides), sort_keys=True, default=str).encode()
        table.version = f"{self.version}+ov.{_short_hash(canonical)}"
        return table

    def with_litellm_file(self, path: str | PathLike[str]) -> PriceTable:
        """Models from a LiteLLM `model_prices_and_context_window.json` file, merged field by
        field onto the entries they name (a rate the file lacks keeps its value and layer)."""
        data = Path(path).read_bytes()
        table = self._copy("")
        layer = f"litellm file {path}"
        skipped: list[str] = []
        for name, fields in parse_litellm_fields(data, source=str(path)).items():
            tiers = fields.pop("tiers", {})
            if table._find_key(name, None) is None and (fields.get("input") is None or fields.get("output") is None):
                skipped.append(name)  # a new model needs both: a missing output rate is unknown, not free
                continue
            table._merge(name, None, fields, origin="litellm", layer=layer, where=f"{path}: {name!r}")
            if tiers:
                key = table._find_key(name, None)
                assert key is not None  # `_merge` has just added or changed the entry `name` finds
                table._entries[key] = merge_tiers(table._entries[key], tiers, layer)
        if skipped:
            log.warning("%s: %d new model(s) without both an input and an output price per token were "
                        "not added (they stay unpriced): %s", path, len(skipped),
                        ", ".join(skipped[:10]) + (", …" if len(skipped) > 10 else ""))
        table.version = f"{self.version}+litellm.{_short_hash(data)}"
        return table

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
        if len(model) > MAX_MODEL_ID_CHARS:  # no price list names such an id: unpriced, cheaply
            return None
        ref = model.strip().lower()
        prov = provider_id(provider)
        hit = self._fine_tune(ref, prov) if ref.startswith("ft:") else self._resolve(ref, prov)
        if hit is None:
            return None
        key, rule, matched = hit
        price = self._entries[key]
        if price.origin in ("litellm", "override"):
            rule = "override"
        return PriceMatch(price=price, rule=rule, matched_id=matched)

    def _resolve(self, ref: str, prov: str | None) -> tuple[str, str, str] | None:
        # The id as sent (bare, qualified by the provider or its routing prefix) is tried by exact
        # key, then by match rule, before any wrapper or date suffix is removed: a Bedrock id is
        # Bedrock's price before it is the vendor's.
        candidates = list(forms(ref, prov, self._known))
        as_sent = [c for c in candidates if c[2] != "prefix"]
        reduced = [c for c in candidates if c[2] == "prefix"]
        for group in (as_sent, reduced):
            for p, rid, rule in group:
                name = f"{p}/{rid}" if p else rid
                if name in self._index:
                    return self._index[name], rule, name
            for p, rid, rule in group:
                if (key := self._by_rule(rid, p, self._base.rules)) is not None:
                    return key, "match" if rule != "prefix" else "prefix", rid
        return None

    def _by_rule(self, rid: str, prov: str | None, rules: Mapping[str, tuple[tuple[Rule, str], ...]]) -> str | None:
        if prov:
            providers = (prov, *self._base.fallbacks.get(prov, ()))
        else:
            owner = next((o for o, rule in self._base.owners if matches(rule, rid)), None)
            providers = (owner,) if owner else genai.FIRST_PARTY
        for p in providers:
            for rule, key in rules.get(p, ()):
                if matches(rule, rid):
                    return key
        return None

    def _fine_tune(self, ref: str, prov: str | None) -> tuple[str, str, str] | None:
        """`ft:<base>:<org>:<name>:<id>` -> an entry written for fine-tunes of that base, or None."""
        base = ref.split(":")[1] if ref.count(":") >= 1 else ""
        if not base:
            return None
        for p, rid, _ in forms(ref, prov, self._known):
            name = f"{p}/{rid}" if p else rid
            if name in self._index:
                return self._index[name], "fine_tune", name
        for p, rid, _ in forms(base, prov, self._known):
            name = f"{p}/ft:{rid}" if p else f"ft:{rid}"
            if name in self._index:
                return self._index[name], "fine_tune", name
        for p in (prov, None):
            if (key := self._by_rule(ref, p, self._base.ft_rules)) is not None:
                return key, "fine_tune", ref
        return None


def merge_tiers(price: ModelPrice, tiers: Mapping[int, TierRates], layer: str) -> ModelPrice:
    """`price` with long-context rates merged field by field: {threshold: {rate: value}}.

    A tier the entry already has at that threshold keeps every rate `tiers` leaves out (and its
    1-hour write rate); a tier it lacks takes a rate left out from the entry's own base rate, as
    LiteLLM bills it. Tiers at other thresholds are kept; the lowest is `tier`, the others
    `upper_tiers`."""
    by_threshold = {t.above_input_tokens: t for t in (price.tier, *price.upper_tiers) if t is not None}
    for threshold, rates in tiers.items():
        old = by_threshold.get(threshold)
        if old is None:
            old = PriceTier(above_input_tokens=threshold, input=price.input, output=price.output,
                            cached_input=price.cached_input, cache_write=price.cache_write,
                            cache_write_1h=price.cache_write_1h)
        by_threshold[threshold] = replace(old, **rates)
    ordered = [by_threshold[k] for k in sorted(by_threshold)]
    layers = tuple((k, kept) for k, kept in price.layers if k != "tier") + (("tier", layer),)
    return replace(price, tier=ordered[0], upper_tiers=tuple(ordered[1:]), layers=layers)


def _verified(date: str | None) -> str:
    return f"verified {date}" if date else "not verified"


def _qualifier(model: str) -> str | None:
    head, sep, _ = model.partition("/")
    return head.lower() if sep else None
