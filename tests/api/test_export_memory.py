"""Issue 4 acceptance 4 / issue 5 acceptance 3: exporting 200k entries (CLI file and API stream)
keeps memory flat and parses back to the same rows.

Flat is measured, not assumed: tracemalloc's peak of Python allocations during the export, for the
first 20k entries and for all 200k. A loader that kept rows would grow ~10x between the two.
"""

from __future__ import annotations

import time
import tracemalloc

import orjson
import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.store.rows import CALL_COLUMNS, Entry
from llmlog.store.sqlite.db import connect
from llmlog.store.sqlite.writer import write_batch

pytestmark = pytest.mark.sqlite_only  # batches written with SQLite's writer to measure export memory

pytestmark = pytest.mark.slow
TOTAL, SMALL = 200_000, 20_000
BOUND_BYTES = 30 * 1024 * 1024
START = 1_700_000_000_000


def _seed(db_path: str) -> list[str]:
    """Minimal rows, one per 10 ms, ids in time order; written in big batches."""
    template = {c: None for c in CALL_COLUMNS}
    template.update(stream=0, status="success", usage_source="provider", priced=1, depth=0,
                    do_not_track=0, has_content=0, model="gpt-4o-mini", provider="openai")
    ids = [f"C{i:09d}" for i in range(TOTAL)]
    conn = connect(db_path)
    try:
        for start in range(0, TOTAL, 50_000):
            batch = []
            for i in range(start, min(start + 50_000, TOTAL)):
                call = dict(template, id=ids[i], started_at=START + 10 * i, cost_micros=i, total_tokens=i % 997)
                batch.append(Entry(call=call))
            write_batch(conn, batch)
    finally:
        conn.close()
    return ids


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("big") / "llmlog.db")
    return path, _seed(path)


def _peak_during(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _ids_of(path) -> list[str]:
    with open(path, "rb") as f:
        return [orjson.loads(line)["id"] for line in f]


def test_cli_export_of_200k_is_flat_and_complete(big_db, tmp_path, capsys):
    db, ids = big_db
    small_out, big_out = tmp_path / "small.jsonl", tmp_path / "big.jsonl"

    def export(out, *extra):
        return CliRunner().invoke(cli.main, ["export", "--db", db, "-o", str(out), *extra], catch_exceptions=False)

    t0 = time.monotonic()
    small, small_peak = _peak_during(lambda: export(small_out, "--until", iso_ms(START + 10 * SMALL)))
    big, big_peak = _peak_during(lambda: export(big_out))
    elapsed = time.monotonic() - t0
    assert small.exit_code == 0 and big.exit_code == 0, big.output
    assert _ids_of(small_out) == ids[:SMALL]
    lines = big_out.read_bytes().splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == ids
    assert orjson.loads(lines[12345])["cost_usd"] == 12345 / 1_000_000
    print(f"\nCLI export peak: {SMALL} rows {small_peak / 1e6:.2f} MB, {TOTAL} rows {big_peak / 1e6:.2f} MB "
          f"({elapsed:.1f} s with tracemalloc)")
    assert big_peak < BOUND_BYTES
    assert big_peak < small_peak * 1.5 + 1024 * 1024  # 10x the rows, not 10x the memory


async def test_api_streaming_export_of_200k_is_flat_and_complete(big_db, make_proxy, tmp_path):
    db, ids = big_db
    client = await make_proxy(store__path=db)

    async def download(params, out) -> int:
        resp = await client.get("/v1/logs/export", params=params)
        assert resp.status == 200
        with open(out, "wb") as f:
            async for chunk in resp.content.iter_chunked(64 * 1024):
                f.write(chunk)
        return resp.status

    async def measured(params, out) -> int:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            await download(params, out)
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    small_peak = await measured({"end_date": iso_ms(START + 10 * SMALL), "fields": "id,cost_usd"},
                                tmp_path / "small.jsonl")
    big_peak = await measured({"fields": "id,cost_usd"}, tmp_path / "big.jsonl")
    assert _ids_of(tmp_path / "small.jsonl") == ids[:SMALL]
    assert _ids_of(tmp_path / "big.jsonl") == ids
    print(f"\nAPI stream peak: {SMALL} rows {small_peak / 1e6:.2f} MB, {TOTAL} rows {big_peak / 1e6:.2f} MB")
    assert big_peak < BOUND_BYTES
    assert big_peak < small_peak * 1.5 + 1024 * 1024
