"""Input no parser can represent is a 400 naming the parameter, never a 5xx (issue 14, item 13):
NUL in a search, times past year 9999 or before year 1 once their offset is applied; and an export
stream that fails after it started ends with an error line instead of being cut."""

from __future__ import annotations

import time

import orjson
import pytest

from llmlog.proxy.app import Seams
from llmlog.store.batches import BATCH_ROWS
from llmlog.store.interface import StoreError
from tests.fakes.faulty_store import Faults, opener
from tests.fakes.seeding import make_entry, seed

NOW = int(time.time() * 1000)
LATE = "9999-12-31T23:59:59-12:00"  # a valid ISO time, but in UTC it is in year 10000
EARLY = "0001-01-01T00:00:00+14:00"  # in UTC, before year 1


async def _error(resp, param: str) -> dict:
    assert resp.status == 400, (resp.status, await resp.text())
    error = (await resp.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert param.split(".")[-1] in error["message"], error  # the message names it too
    return error


@pytest.mark.backends
@pytest.mark.parametrize("path", ["/v1/logs", "/v1/logs/export", "/v1/logs/summary"])
async def test_nul_in_the_search_is_a_400_naming_q(proxy, path):
    await _error(await proxy.get(path, params={"q": "hello\x00world"}), "q")


@pytest.mark.parametrize("path,extra", [("/v1/logs", {}), ("/v1/logs/summary", {}),
                                        ("/v1/logs/stats", {"group_by": "day"}), ("/v1/logs/export", {})])
@pytest.mark.parametrize("param,value", [("end_date", LATE), ("end_date", EARLY), ("start_date", EARLY),
                                         ("to", LATE), ("start_date", "-99999999999d"),
                                         ("start_date", "-" + "9" * 400 + "d")])
async def test_unrepresentable_times_are_a_400_naming_the_parameter(proxy, path, extra, param, value):
    await _error(await proxy.get(path, params={param: value, **extra}), param)


@pytest.mark.backends
async def test_the_edges_of_the_range_work_and_print_four_digit_years(proxy):
    summary = await proxy.get("/v1/logs/summary", params={"end_date": "0001-01-02T00:00:00Z"})
    assert summary.status == 200
    period = (await summary.json())["period"]  # the default 7-day window starts at the first instant
    assert period["start_date"] == "0001-01-01T00:00:00.000Z" and period["end_date"] == "0001-01-02T00:00:00.000Z"
    stats = await proxy.get("/v1/logs/stats", params={"group_by": "week", "start_date": "9999-12-01",
                                                     "end_date": "9999-12-31T23:59:59.999Z"})
    assert stats.status == 200, await stats.text()
    assert (await stats.json())["groups"][-1]["key"] == "9999-12-27T00:00:00.000Z"


async def test_compare_previous_before_year_one_is_a_400_naming_compare(proxy):
    resp = await proxy.get("/v1/logs/stats", params={"group_by": "model", "compare": "previous",
                                                     "start_date": "0500-01-01T00:00:00Z"})
    await _error(resp, "compare")


@pytest.mark.parametrize("filters,param", [
    ({"end_date": LATE}, "filters.end_date"),
    ({"start_date": EARLY}, "filters.start_date"),
    ({"created_at": {"lte": "9999-12-31T23:59:59.999Z"}}, "filters.created_at.lte"),
    ({"created_at": {"gte": LATE}}, "filters.created_at.gte"),
    ({"q": "a\x00b"}, "filters.q"),
])
async def test_export_job_filters_outside_the_range_are_a_400(proxy, filters, param):
    await _error(await proxy.post("/v1/logs/exports", json={"filters": filters}), param)


@pytest.mark.backends
async def test_an_export_job_from_year_one_runs(make_proxy, db_path):
    seed(db_path, [make_entry(NOW - 1000)])
    client = await make_proxy()
    job = await (await client.post("/v1/logs/exports", json={"filters": {"start_date": "0001-01-01"}})).json()
    assert job["filters"]["start_date"] == ["0001-01-01T00:00:00.000Z"]  # read back by start
    started = await client.post(f"/v1/logs/exports/{job['id']}/start")
    assert started.status == 202, await started.text()


@pytest.mark.backends
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_a_stream_failing_after_it_started_ends_with_an_error_line(make_proxy, db_path, fmt):
    seed(db_path, [make_entry(NOW - 1000 * i) for i in range(BATCH_ROWS + 1)])  # a full batch, then one more
    reads = []

    def second_read_fails(real_read, *args, **options):  # as a store says a disk error (store/sqlite/store.py)
        reads.append(1)
        if len(reads) > 1:
            raise StoreError(f"database {db_path}: disk I/O error")
        return real_read(*args, **options)

    client = await make_proxy(seams=Seams(open_store=opener(db_path, Faults(export_batch=second_read_fails))))
    resp = await client.get("/v1/logs/export", params={"format": fmt, "fields": "id,model"})
    assert resp.status == 200
    body = await resp.read()  # a cut stream raises ClientPayloadError here
    lines = body.decode().splitlines()
    assert len(reads) == 2
    if fmt == "jsonl":
        assert len(lines) == BATCH_ROWS + 1 and all("id" in orjson.loads(line) for line in lines[:-1])
        error = orjson.loads(lines[-1])["error"]
        assert error["type"] == "export_error" and "disk I/O error" in error["message"]
    else:
        assert len(lines) == BATCH_ROWS + 2 and lines[0] == "id,model"
        assert lines[-1].startswith("# error: ") and "disk I/O error" in lines[-1]
    assert (await client.get("/healthz")).status == 200
