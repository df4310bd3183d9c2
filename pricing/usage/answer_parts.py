"""The tool calls and URL citations of an answer, in one shape whatever the provider: pure, never raises.

A tool call is `{"id", "type", "name", "arguments"}`: `type` as the provider names it (`function` in
OpenAI chat, `function_call` / `custom_tool_call` in the Responses API, `tool_use` /
`server_tool_use` in Anthropic's), `arguments` the JSON text the model wrote (Anthropic's `input`
object is written back as compact JSON; cut-short JSON stays the text that arrived).
A citation is `{"type", "url", "title", "start_index", "end_index"}` (plus `cited_text` where the
provider quotes it), `None` where a provider does not say.
"""

from __future__ import annotations

from typing import Any

from llmlog.pricing.types import JsonObject
from llmlog.pricing.usage.json_values import as_dict, as_list, as_str, dumps


def tool_call(call_id: Any, kind: Any, name: Any, arguments: Any) -> JsonObject:
    if arguments is not None and not isinstance(arguments, str):
        arguments = dumps(arguments)
    return {"id": as_str(call_id), "type": as_str(kind), "name": as_str(name), "arguments": arguments}


def _index(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def openai_citations(annotations: Any) -> list[JsonObject]:
    """OpenAI's `url_citation` annotations: chat nests the fields under `url_citation`, the
    Responses API puts them on the annotation itself. Other kinds (file citations) are not URLs."""
    out: list[JsonObject] = []
    for raw in as_list(annotations):
        raw = as_dict(raw)
        if raw.get("type") != "url_citation":
            continue
        fields = as_dict(raw.get("url_citation")) or raw
        if as_str(fields.get("url")):
            out.append({"type": "url_citation", "url": fields["url"], "title": as_str(fields.get("title")),
                        "start_index": _index(fields.get("start_index")),
                        "end_index": _index(fields.get("end_index"))})
    return out


def anthropic_citations(citations: Any) -> list[JsonObject]:
    """The web-search citations of an Anthropic text block (`web_search_result_location`); document
    citations (`char_location`, `page_location`) point into the request, not at a URL."""
    out: list[JsonObject] = []
    for raw in as_list(citations):
        raw = as_dict(raw)
        if as_str(raw.get("url")):
            out.append({"type": as_str(raw.get("type")), "url": raw["url"], "title": as_str(raw.get("title")),
                        "start_index": None, "end_index": None, "cited_text": as_str(raw.get("cited_text"))})
    return out


def listed_urls(urls: Any) -> list[JsonObject]:
    """A top-level list of source URLs (Perplexity's OpenAI-compatible `citations`)."""
    return [{"type": "url", "url": url, "title": None, "start_index": None, "end_index": None}
            for url in as_list(urls) if as_str(url)]
