"""Turn a provider's `usage` object into a Usage with OpenAI semantics (DESIGN §4, §5).

Every count goes through `token_count`: a count that is not a whole number in [0, MAX_TOKENS]
makes the whole usage unknown (`unreadable_usage`, with the reason), never a zero and never a
number the store cannot hold.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import orjson

from llmlog.pricing.types import JsonObject, Usage, unreadable_usage
from llmlog.pricing.usage.json_values import as_dict

_OPENAI_KEYS = frozenset({"prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "total_tokens"})
_ANTHROPIC_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")

# The largest token count taken from a provider for one call: a hundred times the largest context
# window offered today (10M tokens). It keeps every stored count, its cost (tokens x USD per 1M
# tokens = micro-dollars, so under 10^9 x the price) and sums over millions of calls well inside
# SQLite's signed 64-bit INTEGER, and exact as a JSON number in the browser (2^53).
MAX_TOKENS = 10**9


class BadCount(ValueError):
    """A usage count that is not a whole number of tokens in [0, MAX_TOKENS]."""


def _shown(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except Exception:  # an int beyond 64 bits
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def token_count(value: Any, name: str) -> int:
    """A provider's token count as an int in [0, MAX_TOKENS]. Absent or null counts 0 (providers
    leave out what does not apply); a whole float (`12.0`) is taken. Raises BadCount for anything
    else: a string, a bool, a fraction, a negative or out-of-range number."""
    if type(value) is int and 0 <= value <= MAX_TOKENS:  # what providers send: no further checks
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadCount(f"{name} = {_shown(value)} is not a number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise BadCount(f"{name} = {_shown(value)} is not a whole number")
    if not 0 <= value <= MAX_TOKENS:
        raise BadCount(f"{name} = {_shown(value)} is out of range (0 to {MAX_TOKENS:,} tokens)")
    return int(value)


def _unreadable(exc: BadCount) -> Usage:
    return unreadable_usage(f"the provider's usage was not taken: {exc}; tokens and cost are unknown")


def openai_usage(usage: Any) -> Usage | None:
    """Chat/legacy/embeddings (`prompt_tokens`…) or Responses API (`input_tokens`…) usage.

    OpenAI's prompt count already includes cached tokens and its completion count already
    includes reasoning tokens, so they are taken as they are. None when there is no usage.
    """
    usage = as_dict(usage)
    if _OPENAI_KEYS.isdisjoint(usage):
        return None
    try:
        return _openai_usage(usage)
    except BadCount as exc:
        return _unreadable(exc)


def _openai_usage(usage: JsonObject) -> Usage:
    prompt_key = "prompt_tokens" if "prompt_tokens" in usage else "input_tokens"
    prompt = token_count(usage.get(prompt_key), prompt_key)
    total = token_count(usage.get("total_tokens"), "total_tokens")
    if "completion_tokens" in usage or "output_tokens" in usage:
        output_key = "completion_tokens" if "completion_tokens" in usage else "output_tokens"
        output = token_count(usage.get(output_key), output_key)
    else:
        # embeddings report only prompt_tokens and total_tokens
        output = max(0, total - prompt)
    prompt_details = as_dict(usage.get("prompt_tokens_details") or usage.get("input_tokens_details"))
    output_details = as_dict(usage.get("completion_tokens_details") or usage.get("output_tokens_details"))
    cached = token_count(prompt_details.get("cached_tokens"), "cached_tokens")
    if not cached and "prompt_cache_hit_tokens" in usage:  # DeepSeek reports hits beside the prompt count
        cached = token_count(usage.get("prompt_cache_hit_tokens"), "prompt_cache_hit_tokens")
    cache_write = token_count(prompt_details.get("cache_write_tokens"), "cache_write_tokens")
    reasoning = token_count(output_details.get("reasoning_tokens"), "reasoning_tokens")
    if reasoning and (reasoning > output or (total and total == prompt + output + reasoning)):
        # xAI and gateway-converted Gemini count reasoning beside completion_tokens, not inside it
        output += reasoning
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        cached_input_tokens=min(prompt, cached),
        cache_write_tokens=min(prompt - min(prompt, cached), cache_write),
        reasoning_tokens=reasoning,
        input_audio_tokens=min(prompt, token_count(prompt_details.get("audio_tokens"), "audio_tokens")),
        output_audio_tokens=min(output, token_count(output_details.get("audio_tokens"), "audio_tokens")),
        source="provider",
    )


def with_service_tier(usage: Usage | None, tier: Any) -> Usage | None:
    """`usage` with the answer's `service_tier` (OpenAI chat and Responses), when it names one."""
    if usage is None or usage.problem or not isinstance(tier, str) or not tier.strip():
        return usage
    return replace(usage, service_tier=tier.strip().lower()[:40])


def anthropic_usage(usage: Any) -> Usage | None:
    """Anthropic usage: its `input_tokens` excludes cache reads and writes, so add them back.

    cached_input_tokens = cache_read_input_tokens, cache_write_tokens =
    cache_creation_input_tokens, each counted once inside input_tokens.
    Anthropic reports no separate thinking count; thinking is inside output_tokens.
    """
    usage = as_dict(usage)
    if not any(key in usage for key in _ANTHROPIC_KEYS):
        return None
    try:
        counts = {key: token_count(usage.get(key), key) for key in _ANTHROPIC_KEYS}
    except BadCount as exc:
        return _unreadable(exc)
    cache_read = counts["cache_read_input_tokens"]
    cache_write = counts["cache_creation_input_tokens"]
    # `cache_creation` splits the writes by lifetime: 1-hour writes cost more than 5-minute ones
    by_ttl = as_dict(usage.get("cache_creation"))
    try:
        write_5m = token_count(by_ttl.get("ephemeral_5m_input_tokens"), "ephemeral_5m_input_tokens")
        write_1h = token_count(by_ttl.get("ephemeral_1h_input_tokens"), "ephemeral_1h_input_tokens")
    except BadCount as exc:
        return _unreadable(exc)
    cache_write = max(cache_write, write_5m + write_1h)
    return Usage(
        input_tokens=counts["input_tokens"] + cache_read + cache_write,
        output_tokens=counts["output_tokens"],
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=min(cache_write, write_1h),
        source="provider",
    )
