"""The PostgreSQL writer's fast paths keep its guarantees (store/postgres/writer.py): one round trip
asks for missing partitions, stored ids and stored parents; str goes through psycopg's own dumper
and a batch holding a NUL is written again NUL-safe, whole, not refused."""

from __future__ import annotations

import copy

import psycopg

from llmlog.store.backends import open_store
from llmlog.store.filters import LogFilter
from tests.fakes.seeding import make_entry

DAY = 86_400_000
BASE = 1_704_067_200_000  # Monday 2024-01-01 00:00 UTC


def test_a_nul_anywhere_stores_the_whole_batch_nul_safe(postgres_url):
    pg = open_store(postgres_url)
    plain = make_entry(BASE)
    in_call = make_entry(BASE + 1, user_id="us\x00er")
    in_content = make_entry(BASE + 2, prompt="nul\x00inside", tags=("t\x00ag",))
    assert pg.write_or_split([plain, in_call, in_content]) == (3, [])
    assert pg.count(LogFilter()) == 3
    assert pg.get_log(in_call.call["id"])[0]["user_id"] == "us\ufffder"
    assert pg.get_log(in_content.call["id"])[1]["prompt_text"] == "nul\ufffdinside"
    with psycopg.connect(pg._url) as conn:
        assert conn.execute("SELECT tag FROM call_tags WHERE call_id = %s",
                            (in_content.call["id"],)).fetchone()[0] == "t\ufffdag"
    # the entries themselves keep what was sent; a replay stores nothing twice
    assert in_content.content["prompt_text"] == "nul\x00inside"
    assert pg.write_or_split([copy.deepcopy(e) for e in (plain, in_call, in_content)]) == (0, [])
    pg.close()


def test_new_weeks_stored_ids_and_outside_parents_in_one_batch(postgres_url):
    pg = open_store(postgres_url)
    root = make_entry(BASE)
    assert pg.write_or_split([root]) == (1, [])
    # one batch: a stored call again, a child of the stored root in a new week, its own child
    child = make_entry(BASE + 8 * DAY, parent_id=root.call["id"])
    grandchild = make_entry(BASE + 15 * DAY, parent_id=child.call["id"])
    assert pg.write_or_split([copy.deepcopy(root), child, grandchild]) == (2, [])
    rows = {r["id"]: r for r in pg.export_batch(LogFilter(), limit=10)}
    assert (rows[child.call["id"]]["root_id"], rows[child.call["id"]]["depth"]) == (root.call["id"], 1)
    assert (rows[grandchild.call["id"]]["root_id"], rows[grandchild.call["id"]]["depth"]) == (root.call["id"], 2)
    with psycopg.connect(pg._url) as conn:
        names = {row[0] for row in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid")}
        assert {"calls_w20240108", "call_content_w20240115", "call_tags_w20240115"} <= names
        assert conn.execute("SELECT count(*) FROM calls_default").fetchone()[0] == 0
    pg.close()
