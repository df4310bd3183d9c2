"""Turn a provider's `usage` object into a Usage with OpenAI semantics (DESIGN §4, §5)."""

from __future__ import annotations

from typing import Any

from pricing._util import as_dict, as_int
from pricing.types import Usage

_OPENAI_KEYS = ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "total_tokens")
_ANTHROPIC_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def openai_usage(usage: Any) -> Usage | None:
    """Chat/legacy/embeddings (`prompt_tokens`…) or Responses API (`input_tokens`…) usage.

    OpenAI's prompt count already includes cached tokens and its completion count already
    includes reasoning tokens, so they are taken as they are. None when there is no usage.
    """
    usage = as_dict(usage)
    if not any(key in usage for key in _OPENAI_KEYS):
        return None
    prompt = as_int(usage.get("prompt_tokens", usage.get("input_tokens")))
    if "completion_tokens" in usage or "output_tokens" in usage:
        output = as_int(usage.get("completion_tokens", usage.get("output_tokens")))
    else:
        # embeddings report only prompt_tokens and total_tokens
        output = max(0, as_int(usage.get("total_tokens")) - prompt)
    prompt_details = as_dict(usage.get("prompt_tokens_details") or usage.get("input_tokens_details"))
    output_details = as_dict(usage.get("completion_tokens_details") or usage.get("output_tokens_details"))
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        cached_input_tokens=min(prompt, as_int(prompt_details.get("cached_tokens"))),
        reasoning_tokens=min(output, as_int(output_details.get("reasoning_tokens"))),
        source="provider",
    )


def anthropic_usage(usage: Any) -> Usage | None:
    """Anthropic usage: its `input_tokens` excludes cache reads and writes, so add them back.

    cached_input_tokens = cache_read_input_tokens, cache_write_tokens =
    cache_creation_input_tokens, each counted once inside input_tokens.
    Anthropic reports no separate thinking count; thinking is inside output_tokens.
    """
    usage = as_dict(usage)
    if not any(key in usage for key in _ANTHROPIC_KEYS):
        return None
    cache_read = as_int(usage.get("cache_read_input_tokens"))
    cache_write = as_int(usage.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=as_int(usage.get("input_tokens")) + cache_read + cache_write,
        output_tokens=as_int(usage.get("output_tokens")),
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
        source="provider",
    )
