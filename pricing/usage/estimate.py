"""Count tokens when a provider sent no usage: messages, tool definitions and images, offline.

The text is encoded with the model's own encoding where llmlog has it (pricing/usage/encodings.py:
o200k_base, cl100k_base, loaded from local files only). The estimate says how it was made:
`source` "estimated" when the model's own encoding counted it and every image's size was known,
"rough" otherwise (another model family's encoding, e.g. Claude counted with cl100k_base; an
image given by URL; or no encoding at all, ~4 characters per token); `encoding` names the
encoding used.
"""

from __future__ import annotations

from dataclasses import replace

from llmlog.pricing.types import JsonArray, JsonObject, RequestInfo, Usage
from llmlog.pricing.usage import encodings
from llmlog.pricing.usage.images import anthropic_image_tokens, base64_size, data_url_size, openai_image_tokens
from llmlog.pricing.usage.json_values import as_dict, as_list, as_str, content_text, dumps

CHAR_ESTIMATE = "chars/4"  # the `encoding` of a count made without any tokenizer
_CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text

# OpenAI function tools, from the OpenAI cookbook "How to count tokens with tiktoken", §7
# (num_tokens_for_tools; its counts equal the API's prompt_tokens for gpt-3.5-turbo, gpt-4,
# gpt-4o, gpt-4o-mini): tokens per function (by encoding), per property block, per property,
# per enum, per enum item, and once after all functions.
_FUNC_INIT = {"o200k_base": 7, "cl100k_base": 10}
_PROP_INIT, _PROP_KEY, _ENUM_INIT, _ENUM_ITEM, _FUNC_END = 3, 3, -3, 3, 12
# Anthropic's tool-use system prompt, added once when `tools` is non-empty (Claude 4 and 3.5/3.7
# Sonnet: 346 tokens with tool_choice auto/none, 313 with any/tool):
# https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview#pricing
_ANTHROPIC_TOOL_PROMPT = {"any": 313, "tool": 313}
_ANTHROPIC_TOOL_PROMPT_DEFAULT = 346


WARMED_ENCODINGS = ("o200k_base", "cl100k_base")


def warm_encodings() -> None:
    """Load the encodings estimates use (about 0.4 s for o200k_base), so the first call without
    usage does not hold the event loop while they load. Blocking: run it in a worker thread."""
    for name in WARMED_ENCODINGS:
        encodings.load(name)


def wanted_encoding(model: str | None) -> str:
    """The encoding the model is counted with (its own, else cl100k_base): see pricing/usage/encodings.py."""
    return encodings.wanted_encoding(model)


def encoding_name_for(model: str | None) -> str:
    """The encoding actually used for `model`: "o200k_base", "cl100k_base" or "chars/4"."""
    loaded = encodings.load(wanted_encoding(model))
    return loaded[0] if loaded else CHAR_ESTIMATE


def count_is_exact_for(model: str | None) -> bool:
    """Whether text for `model` is counted with the model's own encoding (not a stand-in)."""
    own = encodings.own_encoding(model)
    return own is not None and encoding_name_for(model) == own


def count_text_tokens(model: str | None, text: str | None) -> int:
    """Tokens in `text` with the model's encoding (or the rough estimate when none loads)."""
    if not text:
        return 0
    loaded = encodings.load(wanted_encoding(model))
    if loaded is None:
        return -(-len(text) // _CHARS_PER_TOKEN)  # ceil
    return len(loaded[1].encode(text, disallowed_special=()))


def estimate_usage(model: str | None, request: RequestInfo, output_text: str | None) -> Usage:
    """Estimated usage when the provider sent none: messages with chat framing, tool definitions,
    images, plus the output text.

    Chat framing follows the OpenAI cookbook "How to count tokens with tiktoken"
    (num_tokens_from_messages): 3 tokens per message, +1 if it has a `name`, +3 priming the
    reply (`<|start|>assistant<|message|>`). Prompt-style requests (legacy completions,
    embeddings) count `prompt_text` alone.
    """
    counter = _Counter(model)
    if request.messages:
        prompt = 3 + sum(counter.message(m) for m in request.messages if isinstance(m, dict))
    else:
        prompt = counter.text(request.prompt_text)
    prompt += counter.tools(request.tools, request.tool_choice)
    output = counter.text(output_text)
    return Usage(input_tokens=prompt, output_tokens=output,
                 source="rough" if counter.rough else "estimated", encoding=counter.encoding)


def estimate_output(model: str | None, usage: Usage, output_text: str | None) -> Usage:
    """`usage` with its output counted from `output_text` (a stream cut short before the
    provider's final count): "estimated", or "rough" if not with the model's own encoding."""
    exact = count_is_exact_for(model)
    return replace(usage, output_tokens=count_text_tokens(model, output_text),
                   source="estimated" if exact else "rough", encoding=encoding_name_for(model))


class _Counter:
    """Counts the parts of one request for one model, noting whether anything was rough."""

    def __init__(self, model: str | None):
        self.model = model
        self.encoding = encoding_name_for(model)
        self.rough = not count_is_exact_for(model)

    def text(self, text: str | None) -> int:
        return count_text_tokens(self.model, text)

    def message(self, message: JsonObject) -> int:
        # like the cookbook, each value is encoded on its own (joining them would add tokens)
        tokens = 3 + sum(self.text(text) for text in _message_strings(message))
        if as_str(message.get("name")):
            tokens += 1 + self.text(message["name"])
        content = message.get("content")
        if isinstance(content, list):
            tokens += sum(self.image(as_dict(part)) for part in content)
        return tokens

    def image(self, part: JsonObject) -> int:
        kind = part.get("type")
        if kind in ("image_url", "input_image"):  # OpenAI chat / Responses
            image = part.get("image_url")
            url = as_str(image) or as_str(as_dict(image).get("url"))
            detail = as_str(part.get("detail")) or as_str(as_dict(image).get("detail"))
            size = data_url_size(url)
            self.rough |= size is None and detail != "low"  # a low-detail image costs the same at any size
            return openai_image_tokens(self.model, size, detail)
        if kind == "image":  # Anthropic
            source = as_dict(part.get("source"))
            size = base64_size(source.get("data")) if source.get("type") == "base64" else None
            self.rough |= size is None
            return anthropic_image_tokens(size)
        return 0

    def tools(self, tools: JsonArray, tool_choice: object) -> int:
        tools = [as_dict(t) for t in as_list(tools)]
        if not tools:
            return 0
        if any("input_schema" in t for t in tools):  # Anthropic
            self.rough = True  # not Claude's tokenizer, whatever the encoding
            choice = as_str(as_dict(tool_choice).get("type")) or ""
            return (_ANTHROPIC_TOOL_PROMPT.get(choice, _ANTHROPIC_TOOL_PROMPT_DEFAULT)
                    + sum(self.text(dumps(t)) for t in tools))
        return _FUNC_END + sum(self.function_tool(t) for t in tools)

    def function_tool(self, tool: JsonObject) -> int:
        # chat completions nest the function; the Responses API and legacy `functions` do not
        function = as_dict(tool.get("function")) or (tool if "name" in tool else {})
        if not function:  # a built-in tool (web_search, file_search, ...): its definition as JSON
            self.rough = True
            return self.text(dumps(tool))
        tokens = _FUNC_INIT.get(self.encoding, _FUNC_INIT["cl100k_base"])
        name, description = as_str(function.get("name")) or "", as_str(function.get("description")) or ""
        tokens += self.text(f"{name}:{description.removesuffix('.')}")
        parameters = as_dict(function.get("parameters"))
        properties = as_dict(parameters.get("properties"))
        if properties:
            tokens += _PROP_INIT
            for key, spec in properties.items():
                tokens += _PROP_KEY + self.property(key, as_dict(spec))
        return tokens

    def property(self, key: str, spec: JsonObject) -> int:
        tokens = 0
        if "enum" in spec:
            tokens += _ENUM_INIT
            for item in as_list(spec["enum"]):
                tokens += _ENUM_ITEM + self.text(item if isinstance(item, str) else dumps(item))
        kind = spec.get("type")
        kind = kind if isinstance(kind, str) else dumps(kind) if kind is not None else ""
        description = as_str(spec.get("description")) or ""
        tokens += self.text(f"{key}:{kind}:{description.removesuffix('.')}")
        # nested schemas (objects, arrays of objects, ...) are beyond the cookbook's published
        # formula: count them as JSON, and call the estimate rough
        rest = {k: v for k, v in spec.items() if k not in ("type", "description", "enum")}
        if rest:
            self.rough = True
            tokens += self.text(dumps(rest))
        return tokens


def _message_strings(message: JsonObject) -> list[str]:
    """The strings of a message that reach the model: role, text, tool calls and their results."""
    strings = [as_str(message.get("role")) or ""]
    content = message.get("content")
    if isinstance(content, str):
        strings.append(content)
    for block in as_list(content):  # content parts, one by one
        block = as_dict(block) if not isinstance(block, str) else {"text": block}
        strings.append(content_text([block]))
        if block.get("type") == "tool_use":  # Anthropic
            strings += [as_str(block.get("name")) or "", dumps(block.get("input"))]
    for call in as_list(message.get("tool_calls")):
        fn = as_dict(as_dict(call).get("function"))
        strings += [as_str(fn.get("name")) or "", as_str(fn.get("arguments")) or ""]
    for key in ("output", "arguments"):  # Responses API function_call(_output) items
        strings.append(as_str(message.get(key)) or "")
    return [s for s in strings if s]
