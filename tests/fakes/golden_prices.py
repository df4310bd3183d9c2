"""Published list prices for the golden cost corpus (tests/pricing/test_golden_costs.py), USD per 1M tokens.

Kept by hand from each provider's own pricing page (the URL beside each provider), never from
genai-prices nor llmlog's tables: the corpus checks llmlog against what the provider bills.
Rates: `input` (uncached text), `cached_input` (cache read / hit), `cache_write` (Anthropic 5-minute
write, 1.25x input), `cache_write_1h` (Anthropic 1-hour write, 2x input), `output` (reasoning
included), `input_audio` / `output_audio`. `tier` is (above_input_tokens, rates): a prompt over
the threshold is billed entirely at the tier's rates.
"""

from __future__ import annotations

OPENAI = "https://platform.openai.com/docs/pricing"
ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing"
GOOGLE = "https://ai.google.dev/gemini-api/docs/pricing"
MISTRAL = "https://mistral.ai/pricing"
DEEPSEEK = "https://api-docs.deepseek.com/quick_start/pricing"
XAI = "https://docs.x.ai/docs/models"
GROQ = "https://groq.com/pricing"
TOGETHER = "https://www.together.ai/pricing"


def r(input: float, output: float, cached_input: float | None = None, **more) -> dict:
    return {"input": input, "output": output, **({"cached_input": cached_input} if cached_input is not None else {}),
            **more}


def claude(input: float, output: float, *, cache_read: float | None = None, write_5m: float | None = None,
           write_1h: float | None = None, tier: tuple | None = None) -> dict:
    """Anthropic's published multipliers (read 0.1x, 5-minute write 1.25x, 1-hour write 2x input),
    unless the page rounds a figure of its own (Claude 3 Haiku)."""
    rates = r(input, output, cache_read if cache_read is not None else input * 0.1,
              cache_write=write_5m if write_5m is not None else input * 1.25,
              cache_write_1h=write_1h if write_1h is not None else input * 2)
    return {**rates, "tier": tier} if tier else rates


# Sonnet 4 / 4.5 over 200k input tokens (1M-context): 2x input, 1.5x output, multipliers on top.
SONNET_LONG = (200_000, claude(6.00, 22.50))

# provider -> (pricing page, {model id as a client sends it: rates})
PUBLISHED: dict[str, tuple[str, dict[str, dict]]] = {
    "openai": (OPENAI, {
        "gpt-5": r(1.25, 10.00, 0.125),
        "gpt-5-mini": r(0.25, 2.00, 0.025),
        "gpt-5-nano": r(0.05, 0.40, 0.005),
        "gpt-5.1": r(1.25, 10.00, 0.125),
        "gpt-4.1": r(2.00, 8.00, 0.50),
        "gpt-4.1-mini": r(0.40, 1.60, 0.10),
        "gpt-4.1-nano": r(0.10, 0.40, 0.025),
        "gpt-4o": r(2.50, 10.00, 1.25),
        "gpt-4o-2024-05-13": r(5.00, 15.00),
        "gpt-4o-mini": r(0.15, 0.60, 0.075),
        "o1": r(15.00, 60.00, 7.50),
        "o3": r(2.00, 8.00, 0.50),
        "o3-mini": r(1.10, 4.40, 0.55),
        "o4-mini": r(1.10, 4.40, 0.275),
        "gpt-3.5-turbo": r(0.50, 1.50),
        # audio models: text rates, then audio rates
        "gpt-4o-audio-preview": r(2.50, 10.00, input_audio=40.00, output_audio=80.00),
        "gpt-4o-mini-audio-preview": r(0.15, 0.60, input_audio=10.00, output_audio=20.00),
        "gpt-audio": r(2.50, 10.00, input_audio=32.00, output_audio=64.00),
        # fine-tuned model inference (the fine-tuning table of the same page)
        "ft:gpt-4o-mini-2024-07-18:acme::9xYz01": r(0.30, 1.20, 0.15),
        "ft:gpt-4o-2024-08-06:acme::9xYz02": r(3.75, 15.00, 1.875),
        "ft:gpt-4.1-2025-04-14:acme::9xYz03": r(3.00, 12.00, 0.75),
        "ft:gpt-4.1-mini-2025-04-14:acme::9xYz04": r(0.80, 3.20, 0.20),
        "ft:gpt-4.1-nano-2025-04-14:acme::9xYz05": r(0.20, 0.80, 0.05),
        "ft:gpt-3.5-turbo-0125:acme::9xYz06": r(3.00, 6.00),
    }),
    "anthropic": (ANTHROPIC, {
        "claude-opus-4-5": claude(5.00, 25.00),
        "claude-opus-4-1": claude(15.00, 75.00),
        "claude-sonnet-4-5": claude(3.00, 15.00, tier=SONNET_LONG),
        "claude-sonnet-4-20250514": claude(3.00, 15.00, tier=SONNET_LONG),
        "claude-haiku-4-5": claude(1.00, 5.00),
        "claude-3-7-sonnet-20250219": claude(3.00, 15.00),
        "claude-3-5-haiku-20241022": claude(0.80, 4.00),
        "claude-3-haiku-20240307": claude(0.25, 1.25, cache_read=0.03, write_5m=0.30, write_1h=0.50),
    }),
    "google": (GOOGLE, {
        "gemini-3-pro-preview": r(2.00, 12.00, 0.20, tier=(200_000, r(4.00, 18.00, 0.40))),
        "gemini-2.5-pro": r(1.25, 10.00, 0.125, tier=(200_000, r(2.50, 15.00, 0.25))),
        "gemini-2.5-flash": r(0.30, 2.50, 0.03),
        "gemini-2.5-flash-lite": r(0.10, 0.40, 0.01),
        "gemini-2.0-flash": r(0.10, 0.40, 0.025),
        "gemini-2.0-flash-lite": r(0.075, 0.30),
    }),
    "mistral": (MISTRAL, {
        "mistral-large-2512": r(0.50, 1.50),
        "mistral-medium-2508": r(0.40, 2.00),
        "mistral-small-2506": r(0.10, 0.30),
        "codestral-2508": r(0.30, 0.90),
        "magistral-medium-2509": r(2.00, 5.00),
        "ministral-8b-2410": r(0.10, 0.10),
        "open-mistral-nemo": r(0.15, 0.15),
    }),
    "deepseek": (DEEPSEEK, {
        "deepseek-chat": r(0.28, 0.42, 0.028),
        "deepseek-reasoner": r(0.28, 0.42, 0.028),
    }),
    "xai": (XAI, {
        "grok-4-0709": r(3.00, 15.00, 0.75),
        "grok-3": r(3.00, 15.00, 0.75),
        "grok-3-mini": r(0.30, 0.50, 0.075),
        "grok-4-1-fast-reasoning": r(0.20, 0.50, 0.05),
        "grok-code-fast-1": r(0.20, 1.50, 0.02),
    }),
    "groq": (GROQ, {
        "llama-3.3-70b-versatile": r(0.59, 0.79),
        "llama-3.1-8b-instant": r(0.05, 0.08),
        "meta-llama/llama-4-scout-17b-16e-instruct": r(0.11, 0.34),
        "meta-llama/llama-4-maverick-17b-128e-instruct": r(0.20, 0.60),
        "qwen/qwen3-32b": r(0.29, 0.59),
        "openai/gpt-oss-120b": r(0.15, 0.60, 0.075),
        "openai/gpt-oss-20b": r(0.075, 0.30, 0.0375),
        "moonshotai/kimi-k2-instruct": r(1.00, 3.00, 0.50),
    }),
    "together": (TOGETHER, {
        "meta-llama/Llama-3.3-70B-Instruct-Turbo": r(0.88, 0.88),
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": r(0.18, 0.18),
        "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo": r(3.50, 3.50),
        "Qwen/Qwen2.5-72B-Instruct-Turbo": r(1.20, 1.20),
        "Qwen/Qwen2.5-7B-Instruct-Turbo": r(0.30, 0.30),
        "openai/gpt-oss-120b": r(0.15, 0.60),
    }),
}

# Models that think: which of them report reasoning inside `completion_tokens` (OpenAI, DeepSeek)
# and which beside it (xAI; Gemini through an OpenAI-compatible gateway).
REASONING = {
    "openai": {"gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "o1", "o3", "o3-mini", "o4-mini"},
    "deepseek": {"deepseek-reasoner"},
    "xai": {"grok-4-0709", "grok-3-mini", "grok-4-1-fast-reasoning", "grok-code-fast-1"},
    "google": {"gemini-3-pro-preview", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"},
    "anthropic": set(),  # extended thinking is counted in output_tokens: no bucket of its own
    "groq": {"openai/gpt-oss-120b", "openai/gpt-oss-20b", "qwen/qwen3-32b"},
    "mistral": set(),
    "together": set(),
}
REASONING_BESIDE = {"xai", "google"}

# The model as the provider names it in its answer: an alias is answered with its dated snapshot,
# which llmlog prices first (tests/pricing/test_golden_costs.py sends the alias, the upstream answers this).
ANSWERED_AS = {
    "gpt-5": "gpt-5-2025-08-07", "gpt-5-mini": "gpt-5-mini-2025-08-07", "gpt-5-nano": "gpt-5-nano-2025-08-07",
    "gpt-5.1": "gpt-5.1-2025-11-13", "gpt-4.1": "gpt-4.1-2025-04-14", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14", "gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "o1": "o1-2024-12-17", "o3": "o3-2025-04-16", "o3-mini": "o3-mini-2025-01-31", "o4-mini": "o4-mini-2025-04-16",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125", "gpt-4o-audio-preview": "gpt-4o-audio-preview-2024-12-17",
    "gpt-4o-mini-audio-preview": "gpt-4o-mini-audio-preview-2024-12-17", "gpt-audio": "gpt-audio-2025-08-28",
    "claude-opus-4-5": "claude-opus-4-5-20251101", "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929", "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
