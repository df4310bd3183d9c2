"""Value types shared by usage parsing, token counting and pricing (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Parsed JSON: a provider's request or answer holds whatever was sent, so its values are read
# through pricing/usage/json_values.py's `as_*` helpers, never trusted by type.
JsonObject = dict[str, Any]
JsonArray = list[Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage normalised to OpenAI semantics (DESIGN §4).

    `input_tokens` counts every prompt token, cached reads and cache writes included;
    `output_tokens` counts every generated token, reasoning included. The cost buckets
    are derived from these so nothing is billed twice.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0  # all cache writes; the 1-hour ones also in cache_write_1h_tokens
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0  # Anthropic's 1-hour cache writes, billed at their own rate
    input_audio_tokens: int = 0  # part of input_tokens (uncached) billed at the audio rate
    output_audio_tokens: int = 0  # part of output_tokens billed at the audio rate
    source: str = "provider"  # provider | estimated | rough | none (pricing/usage/estimate.py says when rough)
    # why the provider's usage could not be taken (a count out of range or not a count): the
    # counts are then unknown, not zero (`unreadable_usage`)
    problem: str | None = None
    # the tiktoken encoding an estimate was counted with ("o200k_base", "cl100k_base", "chars/4");
    # None for the provider's own counts
    encoding: str | None = None
    # the `service_tier` the provider says served the call (OpenAI: default, flex, priority…);
    # a tier with its own prices is billed at them (pricing/prices/cost.py); not a count, so two usages
    # with equal counts compare equal whatever tier served them
    service_tier: str | None = field(default=None, compare=False)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        """Prompt tokens billed at the plain input rate (text: audio has its own bucket)."""
        return max(0, self.input_tokens - self.cached_input_tokens - self.cache_write_tokens
                   - self.input_audio_tokens)

    @property
    def cache_write_5m_tokens(self) -> int:
        return max(0, self.cache_write_tokens - self.cache_write_1h_tokens)

    @property
    def output_text_tokens(self) -> int:
        """Generated tokens billed at the plain output rate (reasoning included, audio not)."""
        return max(0, self.output_tokens - self.output_audio_tokens)


NO_USAGE = Usage(source="none")


def unreadable_usage(problem: str) -> Usage:
    """The provider sent usage llmlog cannot take: tokens and cost are stored as unknown, and
    `problem` (what was wrong) is kept on the entry."""
    return Usage(source="none", problem=problem)


class SseEvent(NamedTuple):
    """One server-sent event of a streamed response, with its arrival offset. A tuple: a stream
    has one per token, and a frozen dataclass costs three times as much to make."""

    offset_ms: float
    event: str | None
    data: str


@dataclass(slots=True)
class RequestInfo:
    """What the pipeline needs from a request body; every field optional."""

    model: str | None = None
    stream: bool = False
    user: str | None = None
    prompt_text: str | None = None
    # chat messages (or the equivalent) kept for token estimation
    messages: list[JsonObject] = field(default_factory=list)
    # tool definitions (OpenAI `tools` or legacy `functions`, Anthropic `tools`) and `tool_choice`,
    # counted by the estimator
    tools: JsonArray = field(default_factory=list)
    tool_choice: object = None
    # LiteLLM's `metadata.tags` (strings), read as tags; the body itself is forwarded unchanged
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ResponseInfo:
    """What the pipeline needs from a response body (JSON or assembled SSE)."""

    usage: Usage | None = None
    response_model: str | None = None
    finish_reason: str | None = None
    output_text: str | None = None
    error_message: str | None = None
    events: list[SseEvent] = field(default_factory=list)
    # the assembled message of a stream, shaped like the non-streamed response
    assembled: JsonObject | None = None
    # the answer's tool calls and URL citations (pricing/usage/answer_parts.py gives their shape)
    tool_calls: list[JsonObject] = field(default_factory=list)
    citations: list[JsonObject] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Cost:
    """Cost of one call in integer micro-dollars, on disjoint token buckets.

    The four stored columns group the buckets (`input` holds text and audio input, `cache_write`
    5-minute and 1-hour writes, `output` text and audio output); `buckets` has each one alone,
    as (name, tokens, micro-dollars, USD per 1M tokens, nano-dollars), for the entry to show.
    `total_nanos` is the exact cost (micro-dollar columns are each rounded): what `cost_usd` says
    and what sums add up."""

    priced: bool
    input_micros: int = 0
    cached_input_micros: int = 0
    cache_write_micros: int = 0
    output_micros: int = 0
    pricing_version: str | None = None
    buckets: tuple[tuple[str, int, int, str, int], ...] = field(default=(), compare=False)
    total_nanos: int | None = field(default=None, compare=False)
    # for a call served at a non-standard service tier: True when billed at that tier's rates,
    # False when the model has none for it and the standard rates were used; None otherwise
    service_tier_priced: bool | None = None

    @property
    def total_micros(self) -> int | None:
        if not self.priced:
            return None
        return self.input_micros + self.cached_input_micros + self.cache_write_micros + self.output_micros


UNPRICED = Cost(priced=False)
