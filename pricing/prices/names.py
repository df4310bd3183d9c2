"""The forms a model id as sent may name a priced model by, most specific first (pure).

Clients, gateways and clouds wrap the same model id differently: routing prefixes
(`openai/gpt-4o`, `openrouter/openai/gpt-4o`, LiteLLM's `together_ai/…`), Gemini's `models/…`
and Vertex's `publishers/google/models/…`, Bedrock ids (`anthropic.claude-…-v2:0`) and
inference profiles (`us.`/`eu.`/`apac.`/`global.`), dotted Claude versions (`claude-3.5-sonnet`),
dated snapshots (`-2024-08-06`, `-20240806`, `@20240806`). Each form is a (provider, id) pair:
provider None means a bare id. Only whole date suffixes are removed: `-latest`, `-0613` or `-001`
name a version that may be priced differently, so they are never stripped to the family.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Names clients and gateways use for a provider -> genai-prices' provider id.
PROVIDER_ALIASES = {
    "xai": "x-ai", "grok": "x-ai",
    "together_ai": "together", "together-ai": "together", "togetherai": "together",
    "bedrock": "aws", "bedrock_converse": "aws", "amazon": "aws", "aws-bedrock": "aws",
    "gemini": "google", "vertex_ai": "google", "vertex": "google", "vertexai": "google",
    "google-vertex": "google", "google_vertex": "google", "vertex_ai_beta": "google",
    "azure_ai": "azure", "azure_openai": "azure", "azure-openai": "azure",
    "fireworks_ai": "fireworks", "fireworks-ai": "fireworks",
    "mistralai": "mistral", "mistral_ai": "mistral",
    "anthropic_ai": "anthropic", "claude": "anthropic",
    "deepseek_ai": "deepseek", "moonshot": "moonshotai", "cohere_chat": "cohere",
    "text-completion-openai": "openai", "openai_compatible": "openai",
}

# Bedrock: optional cross-region inference profile, vendor, model, optional `-vN[:M]` / `:M`.
_BEDROCK = re.compile(
    r"^(?:(?:us|eu|apac|au|jp|ca|in|global|us-gov)\.)?"
    r"(?P<vendor>anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer|google|nvidia|moonshotai|zai)"
    r"\.(?P<model>[^/]+?)(?:-v\d+(?::\d+)?|:\d+)?$"
)
_BEDROCK_VENDOR = {"meta": "meta", "amazon": "aws", "ai21": "ai21", "moonshotai": "moonshotai"}

_DOTTED_CLAUDE = re.compile(r"^claude-(\d+)\.(\d+)-")
_DOTTED_CLAUDE_NEW = re.compile(r"^claude-(opus|sonnet|haiku)-(\d+)\.(\d+)")
_DATE_SUFFIX = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-20\d{6}|@20\d{6})$")
_COMPACT_DATE = re.compile(r"-(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
MAX_WRAPPERS = 3  # routing prefixes and resource paths around one id (`openrouter/openai/…`)
_VERTEX_PATH = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/(?P<pub>[^/]+)/)?models/(?P<id>.+)$")


def provider_id(name: str | None) -> str | None:
    """A provider name as configured or sent, as genai-prices names it (lower-case)."""
    if not name:
        return None
    name = name.strip().lower()
    return PROVIDER_ALIASES.get(name, name)


def forms(ref: str, provider: str | None, known: frozenset[str] | set[str]) -> Iterator[tuple[str | None, str, str]]:
    """(provider or None, id, rule) for each form of `ref` (lower-case), most specific first.

    `known` is the set of provider ids a routing prefix may name. The rule says how the form
    was reached: "exact", "provider" (qualified by the configured provider or a routing prefix)
    or "prefix" (a wrapper or a date suffix removed)."""
    seen: set[tuple[str | None, str]] = set()
    for prov, rid, rule in _forms(ref, provider, known, depth=0):
        if (prov, rid) not in seen:
            seen.add((prov, rid))
            yield prov, rid, rule


def _forms(ref: str, provider: str | None, known: frozenset[str] | set[str],
           depth: int) -> Iterator[tuple[str | None, str, str]]:
    if depth > MAX_WRAPPERS:  # `models/models/…` sent by a client or an upstream: no real id nests deeper
        return
    if provider:
        yield provider, ref, "provider"
    yield None, ref, "exact" if depth == 0 else "prefix"
    head, sep, rest = ref.partition("/")
    if sep and rest and depth < 3:
        head_id = provider_id(head)
        if head_id in known or head in PROVIDER_ALIASES:
            # `openrouter/openai/gpt-4o`: OpenRouter's own `openai/gpt-4o` first, then OpenAI's
            yield head_id, rest, "provider"
            for prov, rid, rule in _forms(rest, head_id if head_id != provider else provider, known, depth + 1):
                yield prov, rid, "provider" if rule == "exact" else rule
            return
    if (m := _VERTEX_PATH.match(ref)) is not None:
        pub = provider_id(m["pub"]) if m["pub"] else provider
        yield from _forms(m["id"], pub, known, depth + 1)
        return
    if (m := _BEDROCK.match(ref)) is not None:
        yield "aws", ref, "provider"
        vendor = _BEDROCK_VENDOR.get(m["vendor"], m["vendor"])
        yield vendor, m["model"], "prefix"
        yield None, m["model"], "prefix"
        yield from _stripped(m["model"], vendor)
        return
    yield from _stripped(ref, provider)


def _stripped(ref: str, provider: str | None) -> Iterator[tuple[str | None, str, str]]:
    """Dotted Claude versions and date suffixes, each form with and without the provider."""
    variants = []
    if (m := _DOTTED_CLAUDE.match(ref)) is not None:
        variants.append(f"claude-{m[1]}-{m[2]}-{ref[m.end():]}")
    if (m := _DOTTED_CLAUDE_NEW.match(ref)) is not None:
        variants.append(f"claude-{m[1]}-{m[2]}-{m[3]}{ref[m.end():]}")
    for v in (ref, *variants):
        if (m := _COMPACT_DATE.search(v)) is not None:
            variants.append(f"{v[:m.start()]}-{m[1]}-{m[2]}-{m[3]}")
        shorter = _DATE_SUFFIX.sub("", v)
        if shorter != v and shorter:
            variants.append(shorter)
    for v in variants:
        if provider:
            yield provider, v, "prefix"
        yield None, v, "prefix"
