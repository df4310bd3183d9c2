"""Measures of a prompt or output text (the Perf document's `hash`, `length`, `parsed_json`): pure,
shared by the pipeline, which stores them with the content, and the entries the API shows."""

from __future__ import annotations

import hashlib

import orjson

from llmlog.proxy.json_depth import too_deep_to_show

HASH_HEX_DIGITS = 12


def text_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of the whole text as UTF-8: equal prompts, equal hashes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_HEX_DIGITS]


def parsed_json(text: str | None) -> dict | list | None:
    """The text parsed, when it is a JSON object or array (surrounding white space allowed); None
    for any other text, a bare JSON string or number included: those are prose, not structured output."""
    if not text:
        return None
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, (dict, list)) or too_deep_to_show(stripped, value):
        return None  # too deep: the entry could not be answered with it (the text stays whole)
    return value
