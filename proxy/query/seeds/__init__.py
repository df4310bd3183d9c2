"""Translations between the seed products' documents and llmlog's query layer: pure functions."""
