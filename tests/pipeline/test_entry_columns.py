"""build_entry's cheap paths give what the plain ones gave: the stored headers (cleaned only when
orjson refuses them), the row copied from an all-empty template, one pass over the answer's headers;
and what it builds holds what the row types say."""

from __future__ import annotations

import typing

import orjson
import pytest

from bench.samples import captured
from llmlog.pricing.prices.table import PriceTable
from llmlog.proxy.pipeline.interpret import build_entry, certain_columns, fallback_entry
from llmlog.store.rows import CALL_COLUMNS, CONTENT_COLUMNS, CallRow, ContentRow

BAD = b"caf\xe9".decode("utf-8", "surrogateescape")  # how aiohttp hands over a latin-1 byte


def _entry(call):
    return build_entry(call, PriceTable.shipped(), 1 << 20)


def test_headers_with_lone_surrogates_are_stored_cleaned_and_still_redacted():
    call = captured("json")
    call.request_headers += [("X-Note", BAD), (f"x-{BAD}-key", "sk-surrogate-name-1"),
                             ("Authorization", f"Bearer {BAD}")]
    call.response_headers += [("X-Server", BAD)]
    content = _entry(call).content
    request, response = orjson.loads(content["request_headers"]), orjson.loads(content["response_headers"])
    assert ["X-Note", "caf\ufffd"] in request and ["x-caf\ufffd-key", "[redacted]"] in request
    assert ["Authorization", "[redacted]"] in request and ["X-Server", "caf\ufffd"] in response
    assert b"sk-surrogate-name-1" not in orjson.dumps(content, default=lambda b: b.decode("latin-1"))


def test_plain_headers_are_stored_as_sent_with_credentials_redacted():
    call = captured("json")
    call.request_headers.append(("X-Lang", "français"))
    stored = orjson.loads(_entry(call).content["request_headers"])
    assert stored == [["Content-Type", "application/json"], ["Authorization", "[redacted]"], ["X-Lang", "français"]]


def test_every_column_is_present_and_the_empty_ones_are_as_before():
    call = captured("json")
    row = certain_columns(call)
    assert set(row) == set(CALL_COLUMNS)
    assert (row["stream"], row["usage_source"], row["priced"], row["depth"], row["has_content"]) == (0, "none", 0, 0, 0)
    assert row["error"] is None and row["model"] is None and row["cost_micros"] is None
    assert row["api_key_prefix"] == "sk-be" and len(row["api_key_hash"]) == 64
    assert fallback_entry(call, "boom").call["error"] == "llmlog could not interpret this call: boom"
    call.error = "upstream said sk-bench-not-a-real-key is wrong"
    assert certain_columns(call)["error"] == "upstream said [redacted] is wrong"


def test_the_first_content_encoding_and_type_of_the_answer_count():
    call = captured("sse")
    call.response_headers += [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
    entry = _entry(call)
    assert entry.call["stream"] == 1 and entry.content["response_body"].startswith(b"data: ")


def _mistyped(row: typing.Mapping[str, object], row_type: type) -> dict[str, object]:
    hints = typing.get_type_hints(row_type)
    return {name: value for name, value in row.items() if not isinstance(value, hints[name])}


@pytest.mark.parametrize("kind, dnt", [("json", False), ("json_no_usage", False), ("sse", False),
                                       ("sse_no_usage", False), ("json", True)])
def test_a_built_entry_holds_the_columns_and_types_of_its_row_types(kind, dnt):
    entry = _entry(captured(kind, dnt=dnt))
    assert tuple(entry.call) == CALL_COLUMNS and _mistyped(entry.call, CallRow) == {}
    if dnt:
        assert entry.content is None
    else:  # `body_encoding` and `key_id` are the writer's (store/bodies.py, store/sealing.py)
        assert entry.content is not None and set(entry.content) == set(CONTENT_COLUMNS) - {"body_encoding", "key_id"}
        assert _mistyped(entry.content, ContentRow) == {}
    fallback = fallback_entry(captured(kind, dnt=dnt), "boom").call
    assert _mistyped(fallback, CallRow) == {}


def test_the_type_check_finds_a_value_of_another_type():
    row = certain_columns(captured("json"))
    row["status_code"] = "200"  # type: ignore[typeddict-item]  # the mistake this check is for
    assert _mistyped(row, CallRow) == {"status_code": "200"}
