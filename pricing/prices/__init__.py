"""Model prices and call cost: one price table, lookup by model name, micro-dollar cost.

The table layers genai-prices' shipped data, llmlog's corrections, a LiteLLM file and config overrides.
"""
