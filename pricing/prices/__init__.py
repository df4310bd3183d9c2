"""Model prices and call cost: genai-prices' shipped data, llmlog's corrections, a LiteLLM file and config overrides layered into one table; lookup by model name; micro-dollar cost."""
