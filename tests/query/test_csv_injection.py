"""CSV exports cannot run as spreadsheet formulas: a text cell starting with =, +, -, @, tab or CR
gets a leading single quote (OWASP's convention); numeric columns stay numbers, negative ones too."""

from __future__ import annotations

import asyncio
import csv
import io
import time

import pytest
from click.testing import CliRunner

from llmlog import cli
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

NOW = int(time.time() * 1000)
HOSTILE = {  # stored text -> the cell a spreadsheet must see
    "=HYPERLINK(\"http://evil\",\"x\")": "'=HYPERLINK(\"http://evil\",\"x\")",
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(A1:A2)": "'@SUM(A1:A2)",
    "\t=1": "'\t=1",
    "\r=1": "'\r=1",
    "plain model": "plain model",
}
FIELDS = "model,user_id,environment,prompt_text,duration_ms,cost_micros,total_tokens"


def _seed(db_path: str) -> None:
    entries = [make_entry(NOW - 1000 * i, prompt=text, model=text, user_id=text, environment=text,
                          duration_ms=-3.5, cost_micros=-5, total_tokens=-7)
               for i, text in enumerate(HOSTILE)]
    seed(db_path, entries)


def _check(data: bytes) -> None:
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert len(rows) == len(HOSTILE)
    for row in rows:  # each entry holds the same text in every text column
        assert row["model"] == row["user_id"] == row["environment"] == row["prompt_text"], row
        # a numeric column is a number, negative or not: never quoted away
        assert (row["duration_ms"], row["cost_micros"], row["total_tokens"]) == ("-3.5", "-5", "-7")
    cells = sorted(row["prompt_text"] for row in rows)
    assert cells == sorted(HOSTILE.values())


async def test_streamed_csv_export_neutralises_formula_cells(make_proxy, db_path):
    _seed(db_path)
    client = await make_proxy()
    resp = await client.get("/v1/logs/export", params={"format": "csv", "fields": FIELDS})
    assert resp.status == 200
    _check(await resp.read())


async def test_export_job_csv_file_neutralises_formula_cells(make_proxy, db_path):
    _seed(db_path)
    client = await make_proxy()
    job = await (await client.post("/v1/logs/exports", json={"format": "csv", "fields": FIELDS.split(",")})).json()
    assert (await client.post(f"/v1/logs/exports/{job['id']}/start")).status == 202
    for _ in range(500):
        state = await (await client.get(f"/v1/logs/exports/{job['id']}")).json()
        if state["status"] == "success":
            break
        await asyncio.sleep(0.02)
    download = await client.get(state["download_url"])
    _check(await download.read())


def test_cli_csv_export_neutralises_formula_cells(db_path, tmp_path):
    _seed(db_path)
    out = tmp_path / "calls.csv"
    result = CliRunner().invoke(cli.main, ["export", "--db", db_path, "--format", "csv", "--fields", FIELDS,
                                           "-o", str(out)])
    assert result.exit_code == 0, result.output
    _check(out.read_bytes())
