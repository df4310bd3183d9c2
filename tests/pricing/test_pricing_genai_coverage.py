"""Nothing missing: every current model genai-prices prices per token, for the providers llmlog
supports, resolves in llmlog's table, to that model's own entry, by its id and by every id its
`equals` clauses list. Iterates genai-prices' own data, so a new model in a genai-prices upgrade
that llmlog cannot reach fails here."""

from __future__ import annotations

import pytest

from llmlog.pricing.prices import genai
from llmlog.pricing.prices.match import equals_ids, translate
from llmlog.pricing.prices.table import PriceTable

# genai-prices ids of the providers llmlog supports (DESIGN §2, the list, and the clouds
# and gateways whose ids the lookup understands).
SUPPORTED = ("openai", "anthropic", "google", "mistral", "deepseek", "x-ai", "groq", "together",
             "azure", "aws", "openrouter", "fireworks", "cohere")

TABLE = PriceTable.shipped()


def _current_models():
    for p in genai.shipped_providers():
        if p.id not in SUPPORTED:
            continue
        for m in p.models:
            if m.deprecated:
                continue
            prices = m.prices if not isinstance(m.prices, list) else m.prices[-1].prices
            if getattr(prices, "input_mtok", None) is None:
                continue  # billed per character, second or image: not by token
            yield p.id, m


MODELS = list(_current_models())


def test_many_models_are_checked():
    # guards against the check silently checking nothing after a genai-prices upgrade
    assert len(MODELS) >= 1000


@pytest.mark.parametrize(("provider", "model"), MODELS, ids=[f"{p}:{m.id}" for p, m in MODELS])
def test_current_model_resolves_to_its_entry(provider, model):
    names = {model.id, *equals_ids(translate(model.match))}
    for name in sorted(names):
        match = TABLE.lookup(name, provider)
        assert match is not None, f"{provider}: {name!r} ({model.id}) is not priced"
        entry = f"{match.price.provider}/{match.price.model}".lower()
        # a correction may give one id its own entry (mistral-large-latest); it stays that provider's
        assert entry == f"{provider}/{model.id}".lower() or (
            match.price.origin == "correction" and match.price.provider == provider), (name, entry)


def test_first_party_models_resolve_bare():
    """A first-party model is priced by its bare id, unless another first-party provider's naming
    claims that id (Mistral hosts `deepseek-v4-1-flash-1017`: bare, it would be DeepSeek's)."""
    owners = TABLE._base.owners
    missing = [f"{p}:{m.id}" for p, m in MODELS
               if p in genai.FIRST_PARTY and genai._bare_allowed(m.id.lower(), p, owners)
               and TABLE.lookup(m.id) is None]
    assert missing == []
