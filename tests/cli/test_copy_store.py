"""`llmlog copy-store`: a history copied whole (metrics, content, tags, feedback, hierarchy), again
without duplicates, and resumed after an interruption. The source is a SQLite file (where a history
comes from); the target is each backend in turn (`db_path`: a second SQLite file, or PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from llmlog.cli import main
from llmlog.proxy.cli.copy_store import CopySeams
from llmlog.store.backends import open_store
from llmlog.store.filters import LogFilter, Page
from llmlog.store.interface import StoreError
from tests.fakes import faulty_store
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _history(db: str) -> list[str]:
    now = int(time.time() * 1000)
    root = make_entry(now - 5000, prompt="the root call", tags=("agent", "prod"), user_id="u1",
                      feedback='{"score": 1}')
    child = make_entry(now - 4000, prompt="a child call", parent_id=root.call["id"])
    big = make_entry(now - 3000, prompt="large " * 2000)  # packed (compressed) when stored
    dnt = make_entry(now - 2000, prompt=None, do_not_track=1)
    rest = [make_entry(now - 1000 + i, prompt=f"call {i}") for i in range(30)]
    return seed(db, [root, child, big, dnt, *rest])


def _everything(location: str) -> list[tuple]:
    store = open_store(location)
    try:
        rows = store.list_logs(LogFilter(), Page(limit=1000, descending=False)).rows
        whole = [store.get_log(row["id"]) for row in rows]
        return [(call, content) for call, content in whole]
    finally:
        store.close()


def test_copy_everything_then_again_without_duplicates(tmp_path, db_path):
    source, target = str(tmp_path / "old.db"), db_path
    ids = _history(source)
    first = CliRunner().invoke(main, ["copy-store", "--from", source, "--to", target])
    assert first.exit_code == 0, first.output
    assert f"copied {len(ids)} calls" in first.output and f"{len(ids)} new" in first.output
    assert _everything(target) == _everything(source)
    store = open_store(target)
    assert store.hierarchy(ids[1]).parent["id"] == ids[0]
    assert store.list_logs(LogFilter(tags=["agent"]), Page()).total == 1
    assert store.list_logs(LogFilter(text="child"), Page()).total == 1
    store.close()
    again = CliRunner().invoke(main, ["copy-store", "--from", source, "--to", target])
    assert again.exit_code == 0 and "0 new" in again.output
    assert len(_everything(target)) == len(ids)


def test_an_interrupted_copy_resumes_where_it_stopped(tmp_path, db_path):
    source, target = str(tmp_path / "old.db"), db_path
    ids = _history(source)
    written: list[int] = []

    def lost_after_two_batches(real_write, batch):
        if len(written) == 2:
            raise StoreError("connection to the target lost")
        written.append(len(batch))
        return real_write(batch)

    def open_failing_target(location, **options):
        faults = faulty_store.Faults(write_or_split=lost_after_two_batches) if location == target else None
        return faulty_store.open_store(location, faults, **options)

    broken = CliRunner().invoke(main, ["copy-store", "--from", source, "--to", target],
                                obj=CopySeams(batch=10, open_store=open_failing_target))
    assert broken.exit_code == 1 and "run the same command again to resume" in broken.output
    assert written == [10, 10]
    resumed = CliRunner().invoke(main, ["copy-store", "--from", source, "--to", target], obj=CopySeams(batch=10))
    assert resumed.exit_code == 0, resumed.output
    assert "resuming after 20 calls" in resumed.output
    assert f"{len(ids) - 20} new, 0 already there" in resumed.output  # the first 20 were not read again
    assert _everything(target) == _everything(source)


@pytest.mark.parametrize("args, words", [
    (["--from", "{tmp}/missing.db", "--to", "{tmp}/x.db"], "no llmlog database"),
    (["--from", "{tmp}/a.db", "--to", "{tmp}/a.db"], "same store"),
    (["--from", "{tmp}/a.db", "--to", "mysql://u:pw@h/db"], "not a store llmlog knows"),
])
def test_bad_locations_are_one_line_errors(tmp_path, args, words):
    seed(str(tmp_path / "a.db"), [make_entry(int(time.time() * 1000))])
    result = CliRunner().invoke(main, ["copy-store", *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == 1 and words in result.output and "pw" not in result.output
    assert len(result.output.strip().splitlines()) == 1
