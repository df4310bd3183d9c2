"""Export (DESIGN §6): the stream, the job form and `llmlog export` give back exactly the rows the
database holds, with the API's field names and values; errors name the parameter."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import pty
import subprocess
import sys
import time

import orjson
import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.proxy.app import Seams
from llmlog.proxy.pipeline.export_jobs import export_file
from llmlog.proxy.query.export_format import ALIASES, DEFAULT_FIELDS, FIELDS, PORTKEY_FIELDS
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.store.backends import open_store
from tests.conftest import export_file_bytes, missing_store, no_store_message
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

NOW = int(time.time() * 1000)
DAY = 86_400_000
TRICKY = 'a "quoted", comma\nnew line, ünïcode ✓'


def _entries():
    """Ten entries over 20 days (older than the list's 7-day default too), varied on filtered axes."""
    out = []
    for i in range(10):
        out.append(make_entry(
            NOW - (20 - 2 * i) * DAY + i, prompt=f"prompt {i} {TRICKY}" if i != 7 else "hidden",
            output=f"output {i}", model="gpt-4o" if i % 2 else "gpt-4o-mini", user_id=f"user{i % 3}",
            status="error" if i == 4 else "success", status_code=500 if i == 4 else 200,
            error=TRICKY if i == 4 else None, cost_micros=1000 * i + 7, tags=("t", f"n{i}") if i % 3 == 0 else (),
            metadata=orjson.dumps({"k": i, "s": "x,y"}).decode(), do_not_track=1 if i == 7 else 0))
    return out


@pytest.fixture
def seeded(db_path):
    entries = _entries()
    seed(db_path, entries)
    return entries


def _ids(entries, keep=lambda call: True) -> list[str]:
    return [e.call["id"] for e in sorted(entries, key=lambda e: (e.call["started_at"], e.call["id"])) if keep(e.call)]


def _jsonl(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in data.splitlines()]


def _csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def run_cli(*args):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


async def test_stream_jsonl_default_fields_equal_the_api_entries(make_proxy, seeded):
    client = await make_proxy()
    resp = await client.get("/v1/logs/export")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="llmlog-export-')
    records = _jsonl(await resp.read())
    assert [r["id"] for r in records] == _ids(seeded)  # all time, oldest first
    assert "prompt_text" not in records[0] and "request_body" not in records[0]  # content only on request
    for record in records:
        entry = await (await client.get(f"/v1/logs/{record['id']}")).json()
        entry["metadata"] = entry["metadata"]["custom"]  # an export's flat `metadata` is the group's `custom`
        assert record == {name: entry[name] for name in record}


async def test_stream_csv_chosen_fields_and_filters(make_proxy, seeded):
    client = await make_proxy()
    fields = "id,model,cost_usd,tags,metadata,error,prompt_text,request_body,stream"
    resp = await client.get("/v1/logs/export", params={"format": "csv", "fields": fields, "model": "gpt-4o",
                                                       "user_id": "user0,user1", "start_date": "-15d"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = _csv(await resp.read())
    wanted = [e for e in seeded if e.call["model"] == "gpt-4o" and e.call["user_id"] in ("user0", "user1")
              and e.call["started_at"] >= NOW - 15 * DAY - 60_000]
    by_id = {e.call["id"]: e for e in wanted}
    assert [r["id"] for r in rows] == _ids(wanted)
    assert list(rows[0]) == fields.split(",")
    for row in rows:
        entry = by_id[row["id"]]
        call, content = entry.call, entry.content
        assert row["model"] == "gpt-4o" and row["stream"] == "false"
        assert float(row["cost_usd"]) == call["cost_micros"] / 1_000_000
        assert orjson.loads(row["tags"]) == entry.tags
        assert orjson.loads(row["metadata"]) == orjson.loads(call["metadata"])
        assert row["error"] == (call["error"] or "")
        if content is None:  # do-not-track: no content to export
            assert row["prompt_text"] == "" and row["request_body"] == ""
        else:
            assert row["prompt_text"] == content["prompt_text"]
            assert orjson.loads(row["request_body"]) == orjson.loads(content["request_body"])
    assert any("\n" in r["prompt_text"] and '"' in r["prompt_text"] for r in rows)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_cli_writes_the_same_bytes_as_the_api(make_proxy, db_path, seeded, tmp_path, fmt):
    client = await make_proxy()
    out = tmp_path / f"out.{fmt}"
    until = iso_ms(NOW + 60_000)
    result = run_cli("export", "--db", db_path, "--format", fmt, "-o", str(out), "--since", "15d", "--until", until,
                     "--status", "success", "--user", "user1", "--fields", "id,started_at,cost_usd,prompt_text")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().startswith("exported ")
    resp = await client.get("/v1/logs/export", params={
        "format": fmt, "start_date": "-15d", "end_date": until, "status": "success", "user_id": "user1",
        "fields": "id,started_at,cost_usd,prompt_text"})
    api_bytes = await resp.read()
    # `--since 15d` and `-15d` are resolved a moment apart; none of the rows sits on that edge
    assert out.read_bytes() == api_bytes
    parsed = _jsonl(api_bytes) if fmt == "jsonl" else _csv(api_bytes)
    expected = _ids(seeded, lambda c: c["status"] == "success" and c["user_id"] == "user1"
                    and c["started_at"] >= NOW - 15 * DAY)
    assert [r["id"] for r in parsed] == expected and expected


def test_cli_to_stdout_and_errors(db_path, seeded):
    piped = run_cli("export", "--db", db_path, "--model", "gpt-4o-mini", "--fields", "id")
    assert piped.exit_code == 0 and piped.stderr == ""  # piped: data only, no progress bar
    assert [r["id"] for r in _jsonl(piped.stdout.encode())] == _ids(seeded, lambda c: c["model"] == "gpt-4o-mini")
    bad_field = CliRunner().invoke(cli.main, ["export", "--db", db_path, "--fields", "id,nope"])
    assert bad_field.exit_code == 2 and "--fields: unknown field 'nope'" in bad_field.output
    bad_format = CliRunner().invoke(cli.main, ["export", "--db", db_path, "--format", "xml"])
    assert bad_format.exit_code == 2 and "--format" in bad_format.output
    bad_status = CliRunner().invoke(cli.main, ["export", "--db", db_path, "--status", "nope"])
    assert bad_status.exit_code == 2 and "--status" in bad_status.output
    missing = CliRunner().invoke(cli.main, ["export", "--db", missing_store(db_path)])
    assert missing.exit_code == 1 and no_store_message(db_path) in missing.output
    assert "Example:" in run_cli("export", "--help").output


def _run_with_stderr_on(stderr_tty: bool, db_path: str, out: str) -> str:
    """Run the real `llmlog export` with stderr on a pseudo-terminal (or a pipe); returns stderr."""
    args = [sys.executable, "-c", "from llmlog import cli; cli.main()", "export", "--db", db_path, "-o", out]
    if not stderr_tty:
        done = subprocess.run(args, capture_output=True, timeout=60, cwd=os.getcwd())
        return done.stderr.decode()
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave, cwd=os.getcwd())
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal(db_path, seeded, tmp_path):
    on_tty = _run_with_stderr_on(True, db_path, str(tmp_path / "a.jsonl"))
    assert "exporting" in on_tty and "0/10" in on_tty and "10/10" in on_tty
    piped = _run_with_stderr_on(False, db_path, str(tmp_path / "b.jsonl"))
    assert "exporting" not in piped and "%" not in piped
    assert piped.strip() == f"exported 10 calls to {tmp_path / 'b.jsonl'}"
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


@pytest.mark.parametrize("params, param", [
    ({"format": "xml"}, "format"),
    ({"fields": "id,nope"}, "fields"),
    ({"status": "bogus"}, "status"),
    ({"limit": "5"}, "limit"),  # export has no pages
])
async def test_stream_errors_name_the_parameter(proxy, params, param):
    resp = await proxy.get("/v1/logs/export", params=params)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    if param == "fields":
        assert "'nope'" in error["message"]


async def _wait_done(client, job_id: str) -> dict:
    for _ in range(200):
        job = await (await client.get(f"/v1/logs/exports/{job_id}")).json()
        if job["status"] not in ("draft", "running"):
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"export {job_id} still {job['status']}")


async def test_job_lifecycle_create_start_status_download(make_proxy, db_path, backend, seeded):
    client = await make_proxy()
    created = await client.post("/v1/logs/exports", json={
        "filters": {"model": ["gpt-4o"], "created_at": {"gte": iso_ms(NOW - 10 * DAY), "lte": iso_ms(NOW)}},
        "requested_data": ["id", "ai_model", "cost_usd", "prompt_text"], "format": "jsonl"})
    assert created.status == 201
    job = await created.json()
    assert job["status"] == "draft" and job["fields"] == ["id", "ai_model", "cost_usd", "prompt_text"]
    early = await client.get(f"/v1/logs/exports/{job['id']}/download")
    assert early.status == 409 and (await early.json())["error"]["type"] == "conflict_error"
    started = await client.post(f"/v1/logs/exports/{job['id']}/start")
    assert started.status == 202 and (await started.json())["status"] in ("running", "success")
    done = await _wait_done(client, job["id"])
    expected = _ids(seeded, lambda c: c["model"] == "gpt-4o" and NOW - 10 * DAY <= c["started_at"] <= NOW)
    assert done["status"] == "success" and done["rows"] == len(expected) and done["error"] is None
    assert done["download_url"] == f"/v1/logs/exports/{job['id']}/file"
    download = await client.get(done["download_url"])
    assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
    records = _jsonl(await download.read())
    assert [r["id"] for r in records] == expected
    by_id = {e.call["id"]: e for e in seeded}
    for r in records:
        entry = by_id[r["id"]]
        assert r["ai_model"] == "gpt-4o" and r["cost_usd"] == entry.call["cost_micros"] / 1_000_000
        assert r["prompt_text"] == (entry.content["prompt_text"] if entry.content else None)
    listed = await (await client.get("/v1/logs/exports")).json()
    assert [j["id"] for j in listed["data"]] == [job["id"]]
    again = await client.post(f"/v1/logs/exports/{job['id']}/start")  # re-runnable
    assert again.status == 202
    assert (await _wait_done(client, job["id"]))["rows"] == len(expected)
    assert export_file_bytes(db_path, job["id"]) == await (await client.get(done["download_url"])).read()
    if backend == "sqlite":
        assert os.path.exists(f"{db_path}.exports/{job['id']}.jsonl")  # the file lives beside the database


async def test_job_csv_with_default_fields_and_query_filter_names(make_proxy, seeded):
    client = await make_proxy()
    job = await (await client.post("/v1/logs/exports", json={"filters": {"status": "error"}, "format": "csv"})).json()
    await client.post(f"/v1/logs/exports/{job['id']}/start")
    done = await _wait_done(client, job["id"])
    rows = _csv(await (await client.get(done["download_url"])).read())
    assert [r["id"] for r in rows] == _ids(seeded, lambda c: c["status"] == "error")
    assert rows[0]["error"] == TRICKY and list(rows[0])[:3] == ["id", "started_at", "completed_at"]


@pytest.mark.parametrize("body, param", [
    ({"format": "xml"}, "format"),
    ({"requested_data": ["id", "nope"]}, "requested_data"),
    ({"fields": "id,nope"}, "fields"),
    ({"filters": {"bogus": 1}}, "filters.bogus"),
    ({"filters": {"status": "nope"}}, "filters.status"),
    ({"filters": {"created_at": {"gte": "not a time"}}}, "filters.created_at.gte"),
    ({"whatever": 1}, "whatever"),
])
async def test_job_errors_name_the_parameter(proxy, body, param):
    resp = await proxy.post("/v1/logs/exports", json=body)
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == param


async def test_unknown_job_is_404(proxy):
    for method, path in (("GET", "/v1/logs/exports/nope"), ("POST", "/v1/logs/exports/nope/start"),
                         ("GET", "/v1/logs/exports/nope/download"), ("GET", "/v1/logs/exports/nope/file")):
        resp = await proxy.request(method, path)
        assert resp.status == 404 and (await resp.json())["error"]["param"] == "id"


async def test_a_job_left_running_by_a_dead_process_fails_and_can_run_again(make_proxy, db_path, seeded):
    store = open_store(db_path)
    store.create_job("JOBLEFTRUNNING", "jsonl", ["id"], {"user_id": ["user2"]}, NOW)
    assert store.start_job("JOBLEFTRUNNING", store.export_path("JOBLEFTRUNNING", "jsonl"), NOW)
    store.close()
    client = await make_proxy()  # a second app on the same database: the restart
    job = await (await client.get("/v1/logs/exports/JOBLEFTRUNNING")).json()
    assert job["status"] == "failure" and job["error"] == "interrupted by restart"
    assert (await client.get("/v1/logs/exports/JOBLEFTRUNNING/download")).status == 409
    assert (await client.post("/v1/logs/exports/JOBLEFTRUNNING/start")).status == 202
    done = await _wait_done(client, "JOBLEFTRUNNING")
    assert done["status"] == "success"
    records = _jsonl(await (await client.get(done["download_url"])).read())
    assert records == [{"id": i} for i in _ids(seeded, lambda c: c["user_id"] == "user2")]


async def test_shutdown_stops_a_running_job_as_a_failure(make_proxy, db_path, seeded):
    def slow_export(*args):
        stop = args[5]
        stop.wait(10)  # blocks until shutdown asks it to stop
        return export_file(*args)

    client = await make_proxy(seams=Seams(export_file=slow_export))
    job = await (await client.post("/v1/logs/exports", json={})).json()
    assert (await client.post(f"/v1/logs/exports/{job['id']}/start")).status == 202
    assert (await client.post(f"/v1/logs/exports/{job['id']}/start")).status == 409  # already running
    await client.close()  # app shutdown: the cleanup context stops the job
    store = open_store(db_path)
    stored = store.get_job(job["id"])
    store.close()
    assert stored["status"] == "failure" and stored["error"] == "interrupted by shutdown"


async def test_erasing_a_user_removes_finished_export_files(make_proxy, db_path, backend, seeded):
    client = await make_proxy()
    user = next(e.call["user_id"] for e in seeded if e.call["user_id"])
    job = await (await client.post("/v1/logs/exports", json={"format": "jsonl", "filters": {
        "created_at": {"gte": iso_ms(NOW - 400 * DAY), "lte": iso_ms(NOW)}}})).json()
    await client.post(f"/v1/logs/exports/{job['id']}/start")
    assert (await _wait_done(client, job["id"]))["status"] == "success"
    path = f"{db_path}.exports/{job['id']}.jsonl"
    assert user.encode() in export_file_bytes(db_path, job["id"])
    if backend == "sqlite":
        assert user.encode() in open(path, "rb").read()
    erased = await client.delete(f"/v1/logs/user/{user}")
    assert (await erased.json())["deleted"] > 0
    assert export_file_bytes(db_path, job["id"]) is None
    if backend == "sqlite":
        assert not os.path.exists(path)
    after = await (await client.get(f"/v1/logs/exports/{job['id']}")).json()
    assert after["status"] == "failure" and "erased" in after["error"]
    assert (await client.get(f"/v1/logs/exports/{job['id']}/download")).status == 409


@pytest.mark.sqlite_only  # reads the job's retention columns, which the Store interface does not show
async def test_a_finished_job_records_what_retention_needs(make_proxy, db_path, seeded):
    import sqlite3

    client = await make_proxy()
    window = {"created_at": {"gte": iso_ms(NOW - 400 * DAY), "lte": iso_ms(NOW)}}
    for fields, holds_content in ((["id", "model"], 0), (["id", "prompt_text"], 1)):
        job = await (await client.post("/v1/logs/exports", json={"fields": fields, "filters": window})).json()
        await client.post(f"/v1/logs/exports/{job['id']}/start")
        assert (await _wait_done(client, job["id"]))["status"] == "success"
        conn = sqlite3.connect(db_path)
        stored = conn.execute("SELECT oldest_started_at, holds_content, path FROM export_jobs WHERE id = ?",
                              (job["id"],)).fetchone()
        conn.close()
        assert stored[0] == min(e.call["started_at"] for e in seeded) and stored[1] == holds_content
        assert os.path.isabs(stored[2])


async def test_job_bodies_that_are_not_small_json_objects_get_clear_errors(proxy):
    too_big = b'{"filters": {"model": "' + b"m" * (70 * 1024) + b'"}}'
    resp = await proxy.post("/v1/logs/exports", data=too_big, headers={"Content-Type": "application/json"})
    assert resp.status == 413 and (await resp.json())["error"]["param"] == "body"
    for raw in (b"[1, 2]", b"{not json"):
        resp = await proxy.post("/v1/logs/exports", data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400 and "JSON object" in (await resp.json())["error"]["message"]
    resp = await proxy.post("/v1/logs/exports", data=b"")  # no body: every default
    assert resp.status in (200, 201) and (await resp.json())["format"] == "jsonl"

    async def in_pieces(raw: bytes):
        for start in range(0, len(raw), 700):
            yield raw[start:start + 700]
            await asyncio.sleep(0.01)

    body = orjson.dumps({"format": "csv", "filters": {"model": ["gpt-4o"] * 150}})  # ~2 KB, chunked upload
    resp = await proxy.post("/v1/logs/exports", data=in_pieces(body), headers={"Content-Type": "application/json"})
    assert resp.status in (200, 201), await resp.text()
    assert (await resp.json())["format"] == "csv"
    resp = await proxy.post("/v1/logs/exports", data=in_pieces(b'{"format": "' + b"x" * (70 * 1024) + b'"}'))
    assert resp.status == 413


async def test_erasing_a_user_while_a_job_runs_withdraws_what_it_wrote(make_proxy, db_path, backend, seeded):
    """The job has already written the user's calls when the erasure comes: it must not end as a
    downloadable success holding them."""
    import threading

    written = threading.Event()

    def export_then_linger(*args):
        rows = export_file(*args)  # the whole file, the user's calls included
        if not written.is_set():  # the first run only
            written.set()
            args[5].wait(10)  # until the erasure asks running jobs to stop
        return rows

    client = await make_proxy(seams=Seams(export_file=export_then_linger))
    user = next(e.call["user_id"] for e in seeded if e.call["user_id"])
    job = await (await client.post("/v1/logs/exports", json={"format": "jsonl", "filters": {
        "created_at": {"gte": iso_ms(NOW - 400 * DAY), "lte": iso_ms(NOW)}}})).json()
    assert (await client.post(f"/v1/logs/exports/{job['id']}/start")).status == 202
    path = f"{db_path}.exports/{job['id']}.jsonl"
    await asyncio.to_thread(written.wait, 10)
    if backend == "sqlite":  # on PostgreSQL the file is taken into the database only once the job is done
        assert user.encode() in open(path, "rb").read()
    erased = await client.delete(f"/v1/logs/user/{user}")
    assert (await erased.json())["deleted"] > 0
    done = await _wait_done(client, job["id"])
    assert done["status"] == "failure" and "erased" in done["error"] and done["download_url"] is None
    assert export_file_bytes(db_path, job["id"]) is None
    if backend == "sqlite":
        assert not os.path.exists(path)
    again = await client.post(f"/v1/logs/exports/{job['id']}/start")  # and it can run again, without the user
    assert again.status == 202
    done = await _wait_done(client, job["id"])
    assert done["status"] == "success"
    assert user.encode() not in await (await client.get(done["download_url"])).read()


async def test_openapi_lists_the_field_names_a_job_takes_and_its_default(proxy):
    """The logs page builds its field checkboxes from these lists (proxy/ui/static/exports.js)."""
    doc = await (await proxy.get("/openapi.json")).json()
    schema = doc["paths"]["/v1/logs/exports"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    own, portkey = (choice["enum"] for choice in schema["properties"]["requested_data"]["items"]["anyOf"])
    assert own == list(FIELDS) and portkey == [*ALIASES, *PORTKEY_FIELDS]
    for name in [*own, *portkey]:
        created = await proxy.post("/v1/logs/exports", json={"requested_data": ["id", name]})
        assert created.status == 201, (name, await created.text())
    default = schema["properties"]["requested_data"]["default"]
    created = await (await proxy.post("/v1/logs/exports", json={})).json()
    assert created["fields"] == default == list(DEFAULT_FIELDS)
    refused = await proxy.post("/v1/logs/exports", json={"requested_data": ["id", "no_such_field"]})
    assert refused.status == 400 and (await refused.json())["error"]["param"] == "requested_data"
