"""Tests driving llmlog exactly as each seed product's document does (shared/seeds/)."""
