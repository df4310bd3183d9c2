"""Real model ids as clients, gateways and clouds send them, and the priced model each must reach.

Each row: (id as sent, provider the call went to, "provider/model" of the genai-prices or
correction entry it must resolve to, or None: unpriced). The formats: OpenAI dated snapshots and
legacy versions, Azure deployments, fine-tunes (priced only where a fine-tune price exists),
OpenRouter and LiteLLM routing prefixes, dotted Claude versions, Vertex `@` versions, Bedrock ids
and inference profiles, Gemini `models/…` and Vertex resource paths, Mistral `-latest` aliases,
hosted open models (priced per host, never bare).
"""

from __future__ import annotations

import pytest

from llmlog.pricing.prices.table import PriceTable

TABLE = PriceTable.shipped()

IDS = [
    ('gpt-4o', None, 'openai/gpt-4o'),
    ('gpt-4o-2024-11-20', None, 'openai/gpt-4o'),
    ('gpt-4o-2024-05-13', None, 'openai/gpt-4o-2024-05-13'),
    ('chatgpt-4o-latest', None, 'openai/chatgpt-4o-latest'),
    ('gpt-4o-mini-2024-07-18', None, 'openai/gpt-4o-mini'),
    ('gpt-4.1-2025-04-14', None, 'openai/gpt-4.1'),
    ('gpt-4.1-mini', None, 'openai/gpt-4.1-mini'),
    ('gpt-5', None, 'openai/gpt-5'),
    ('gpt-5-2025-08-07', None, 'openai/gpt-5'),
    ('gpt-5-mini-2025-08-07', None, 'openai/gpt-5-mini'),
    ('gpt-5-nano', None, 'openai/gpt-5-nano'),
    ('gpt-5.1-codex', None, 'openai/gpt-5.1'),
    ('gpt-5.2-20251211', None, 'openai/gpt-5.2'),
    ('o1-2024-12-17', None, 'openai/o1'),
    ('o3', None, 'openai/o3'),
    ('o3-2025-04-16', None, 'openai/o3'),
    ('o4-mini-2025-04-16', None, 'openai/o4-mini'),
    ('o3-mini-high', None, 'openai/o3-mini'),
    ('gpt-3.5-turbo', None, 'openai/gpt-3.5-turbo'),
    ('gpt-3.5-turbo-0301', None, 'openai/gpt-3.5-0301'),
    ('gpt-3.5-turbo-0613', None, 'openai/gpt-3.5-turbo-0613'),
    ('gpt-3.5-turbo-16k', None, 'openai/gpt-3.5-turbo-16k'),
    ('gpt-4-0314', None, 'openai/gpt-4'),
    ('gpt-4-32k', None, 'openai/gpt-4-32k'),
    ('text-embedding-3-small', None, 'openai/text-embedding-3-small'),
    ('text-embedding-ada-002', None, 'openai/text-embedding-ada-002'),
    ('gpt-4o-mini-2024-07-18.ft-abc123', None, 'openai/gpt-4o-mini-2024-07-18.ft-'),
    ('ft:gpt-4o-mini-2024-07-18:org::abc', None, 'openai/ft:gpt-4o-mini'),
    ('ft:gpt-4o-2024-08-06:acme:custom:9xyz', None, 'openai/ft:gpt-4o'),
    ('ft:gpt-4.1-2025-04-14:org::x', None, 'openai/ft:gpt-4.1'),
    ('ft:gpt-4.1-mini-2025-04-14:org::x', None, 'openai/ft:gpt-4.1-mini'),
    ('ft:o4-mini-2025-04-16:org::x1', None, None),
    ('ft:gpt-5-mini:org::x1', None, None),
    ('ft:unknown-base:org::x', None, None),
    ('gpt-35-turbo', 'azure', 'openai/gpt-3.5-turbo'),
    ('gpt-35-turbo-16k', 'azure', 'openai/gpt-3.5-turbo-16k'),
    ('gpt-4o', 'azure', 'openai/gpt-4o'),
    ('o4-mini', 'azure', 'azure/o4-mini'),
    ('azure/gpt-4o-mini', None, 'openai/gpt-4o-mini'),
    ('azure/o3-mini', None, 'azure/o3-mini'),
    ('openai/gpt-4o', None, 'openai/gpt-4o'),
    ('openai/gpt-4.1-nano', None, 'openai/gpt-4.1-nano'),
    ('openrouter/openai/gpt-4o', None, 'openrouter/openai/gpt-4o'),
    ('openrouter/openai/gpt-4o-mini', None, 'openrouter/openai/gpt-4o-mini'),
    ('openrouter/anthropic/claude-3.5-sonnet', None, 'openrouter/anthropic/claude-3.5-sonnet'),
    ('openrouter/anthropic/claude-sonnet-4.5', None, 'openrouter/anthropic/claude-sonnet-4.5'),
    ('anthropic/claude-sonnet-4.5', 'openrouter', 'openrouter/anthropic/claude-sonnet-4.5'),
    ('claude-3-5-sonnet-20241022', None, 'anthropic/claude-3-5-sonnet'),
    ('claude-3-5-sonnet-20240620', None, 'anthropic/claude-3-5-sonnet'),
    ('claude-3-5-sonnet-latest', None, 'anthropic/claude-3-5-sonnet'),
    ('claude-3.5-sonnet', None, 'anthropic/claude-3-5-sonnet'),
    ('claude-3.5-haiku', None, 'anthropic/claude-3-5-haiku-latest'),
    ('claude-3.7-sonnet', None, 'anthropic/claude-3-7-sonnet-latest'),
    ('claude-3-7-sonnet-20250219', None, 'anthropic/claude-3-7-sonnet-latest'),
    ('claude-3-haiku-20240307', None, 'anthropic/claude-3-haiku'),
    ('claude-3-opus-20240229', None, 'anthropic/claude-3-opus-latest'),
    ('claude-sonnet-4-20250514', None, 'anthropic/claude-sonnet-4-0'),
    ('claude-sonnet-4-0', None, 'anthropic/claude-sonnet-4-0'),
    ('claude-sonnet-4.5', None, 'anthropic/claude-sonnet-4-5'),
    ('claude-sonnet-4-5-20250929', None, 'anthropic/claude-sonnet-4-5'),
    ('claude-opus-4-1-20250805', None, 'anthropic/claude-opus-4-1'),
    ('claude-opus-4.1', None, 'anthropic/claude-opus-4-1'),
    ('claude-haiku-4-5-20251001', None, 'anthropic/claude-haiku-4-5'),
    ('claude-opus-4-5-20251101', None, 'anthropic/claude-opus-4-5'),
    ('anthropic/claude-3-5-haiku-20241022', None, 'anthropic/claude-3-5-haiku-latest'),
    ('claude-opus-4@20250514', None, 'anthropic/claude-opus-4-0'),
    ('claude-3-5-sonnet-v2@20241022', None, 'anthropic/claude-3-5-sonnet'),
    ('vertex_ai/claude-3-5-sonnet-v2@20241022', None, 'google/claude-3-5-sonnet'),
    ('anthropic.claude-3-5-sonnet-20241022-v2:0', None, 'aws/regional.anthropic.claude-3-5-sonnet-20241022-v2:0'),
    ('us.anthropic.claude-3-5-sonnet-20241022-v2:0', None, 'aws/regional.anthropic.claude-3-5-sonnet-20241022-v2:0'),
    ('eu.anthropic.claude-3-7-sonnet-20250219-v1:0', None, 'aws/regional.anthropic.claude-3-7-sonnet-20250219-v1:0'),
    ('apac.anthropic.claude-3-haiku-20240307-v1:0', None, 'aws/regional.anthropic.claude-3-haiku-20240307-v1:0'),
    ('global.anthropic.claude-sonnet-4-5-20250929-v1:0', None, 'aws/global.anthropic.claude-sonnet-4-5-20250929-v1:0'),
    ('us.anthropic.claude-sonnet-4-20250514-v1:0', None, 'aws/regional.anthropic.claude-sonnet-4-20250514-v1:0'),
    ('bedrock/anthropic.claude-3-haiku-20240307-v1:0', None, 'aws/regional.anthropic.claude-3-haiku-20240307-v1:0'),
    ('anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock', 'aws/regional.anthropic.claude-haiku-4-5-20251001-v1:0'),
    ('meta.llama3-3-70b-instruct-v1:0', 'bedrock', 'aws/meta.llama3-3-70b-instruct-v1:0'),
    ('us.meta.llama3-3-70b-instruct-v1:0', None, 'aws/meta.llama3-3-70b-instruct-v1:0'),
    ('amazon.nova-pro-v1:0', None, 'aws/amazon.nova-pro-v1:0'),
    ('us.amazon.nova-lite-v1:0', None, 'aws/amazon.nova-lite-v1:0'),
    ('mistral.mistral-large-2402-v1:0', None, 'aws/mistral.mistral-large-2402-v1:0'),
    ('gemini-2.5-pro', None, 'google/gemini-2.5-pro'),
    ('gemini-2.5-flash', None, 'google/gemini-2.5-flash'),
    ('gemini-2.5-flash-lite', None, 'google/gemini-2.5-flash-lite'),
    ('models/gemini-2.5-flash', None, 'google/gemini-2.5-flash'),
    ('models/gemini-2.0-flash-001', None, 'google/gemini-2.0-flash'),
    ('gemini-2.0-flash-001', None, 'google/gemini-2.0-flash'),
    ('gemini-1.5-pro-002', None, 'google/gemini-1.5-pro'),
    ('gemini-1.5-flash-002', None, 'google/gemini-1.5-flash'),
    ('gemini-1.5-flash-8b', None, 'google/gemini-1.5-flash-8b'),
    ('gemini/gemini-2.5-pro', None, 'google/gemini-2.5-pro'),
    ('vertex_ai/gemini-2.5-flash', None, 'google/gemini-2.5-flash'),
    ('publishers/google/models/gemini-2.5-pro', None, 'google/gemini-2.5-pro'),
    ('projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash-001', None,
     'google/gemini-2.0-flash'),
    ('gemini-2.5-pro-preview-06-05', None, 'google/gemini-2.5-pro'),
    ('text-embedding-004', None, None),
    ('mistral-large-latest', None, 'mistral/mistral-large-latest'),
    ('mistral-large-2411', None, 'mistral/mistral-large'),
    ('mistral-large-2407', None, 'mistral/mistral-large'),
    ('mistral-large-2512', None, 'mistral/mistral-large-2512'),
    ('mistral-medium-latest', None, 'mistral/mistral-medium-latest'),
    ('mistral-medium-2508', None, 'mistral/mistral-medium-3-1'),
    ('mistral-small-latest', None, 'mistral/mistral-small-latest'),
    ('mistral-small-2506', None, 'mistral/mistral-small-3.2-24b-instruct'),
    ('codestral-latest', None, 'mistral/codestral'),
    ('codestral-2501', None, 'mistral/codestral'),
    ('open-mistral-nemo', None, 'mistral/mistral-nemo'),
    ('mistral/mistral-large-latest', None, 'mistral/mistral-large-latest'),
    ('ministral-8b-latest', None, 'mistral/ministral-8b-latest'),
    ('deepseek-chat', None, 'deepseek/deepseek-chat'),
    ('deepseek-reasoner', None, 'deepseek/deepseek-reasoner'),
    ('deepseek/deepseek-chat', None, 'deepseek/deepseek-chat'),
    ('grok-4', None, 'x-ai/grok-4-0709'),
    ('grok-4-0709', None, 'x-ai/grok-4-0709'),
    ('grok-3-mini', 'xai', 'x-ai/grok-3-mini'),
    ('xai/grok-3', None, 'x-ai/grok-3'),
    ('x-ai/grok-4', None, 'x-ai/grok-4-0709'),
    ('grok-code-fast-1', None, 'x-ai/grok-code-fast-1'),
    ('llama-3.3-70b-versatile', 'groq', 'groq/llama-3.3-70b-versatile'),
    ('llama-3.1-8b-instant', 'groq', 'groq/llama-3.1-8b-instant'),
    ('groq/llama-3.1-8b-instant', None, 'groq/llama-3.1-8b-instant'),
    ('openai/gpt-oss-120b', 'groq', 'groq/openai/gpt-oss-120b'),
    ('groq/openai/gpt-oss-20b', None, 'groq/openai/gpt-oss-20b'),
    ('meta-llama/llama-4-scout-17b-16e-instruct', 'groq', 'groq/meta-llama/llama-4-scout-17b-16e-instruct'),
    ('meta-llama/Llama-3.3-70B-Instruct-Turbo', 'together', 'together/meta-llama/Llama-3.3-70B-Instruct-Turbo'),
    ('together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo', None, 'together/meta-llama/Llama-3.3-70B-Instruct-Turbo'),
    ('together/Qwen/Qwen2.5-72B-Instruct-Turbo', None, 'together/Qwen/Qwen2.5-72B-Instruct-Turbo'),
    ('llama-3.3-70b-versatile', None, None),
    ('meta-llama/Llama-3.3-70B-Instruct-Turbo', None, None),
    ('my-local-model', None, None),
    ('gpt-4o-mini-foo', None, None),
    ('gpt-4oo', None, None),
    ('gpt-6', None, None),
    ('claude-4-ultra', None, None),
]


def test_the_table_is_big_enough():
    assert len(IDS) >= 90 and sum(expected is None for *_, expected in IDS) >= 8


@pytest.mark.parametrize(("model", "provider", "expected"), IDS, ids=[f"{m}|{p}" for m, p, _ in IDS])
def test_real_id_resolves_to_its_model(model, provider, expected):
    match = TABLE.lookup(model, provider)
    got = None if match is None else f"{match.price.provider}/{match.price.model}"
    assert got == expected


def test_a_version_suffix_never_borrows_the_family_price():
    # mistral-large-latest is Large 3 (a correction: genai-prices 0.2.3 says Large 2)
    assert TABLE.lookup("mistral-large-latest").price.input == TABLE.lookup("mistral-large-2512").price.input
    assert TABLE.lookup("mistral-large-latest").price.input != TABLE.lookup("mistral-large-2411").price.input
    # gpt-3.5-turbo-0301 has its own (older, dearer) price
    assert TABLE.lookup("gpt-3.5-turbo-0301").price.input != TABLE.lookup("gpt-3.5-turbo").price.input
    # a fine-tune without its own price is unpriced, not billed at the base rate
    assert TABLE.lookup("o4-mini") is not None and TABLE.lookup("ft:o4-mini-2025-04-16:org::x1") is None
