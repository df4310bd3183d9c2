"""A call's content and search rows share its rowid (m006), for new writes and for older databases."""

from __future__ import annotations

import sqlite3
import time

import pytest
from multidict import MultiDict

from llmlog.proxy.query.params import FILTER_PARAMS, PAGE_PARAMS, Query, parse_filter, parse_page
from llmlog.store.sqlite import queries
from llmlog.store.sqlite.db import connect
from llmlog.store.sqlite.migrations import M002_QUERY_INDEXES, MIGRATIONS
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.sqlite_only  # SQLite's rowids shared between calls and its FTS index, and their migration

M006 = [name for name, _ in MIGRATIONS].index("m006_shared_rowids") + 1


def _search(conn: sqlite3.Connection, words: str) -> list[str]:
    q = Query(MultiDict(q=words, start_date="-30d", limit="100"), FILTER_PARAMS + PAGE_PARAMS)
    now = int(time.time() * 1000)
    return [row["id"] for row in queries.list_logs(conn, parse_filter(q, now), parse_page(q)).rows]


def _misaligned(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM call_content cc JOIN calls c ON c.id = cc.call_id "
                        "WHERE c.rowid != cc.rowid").fetchone()[0]


def _entries(now: int):
    entries = [make_entry(now - 1000 * i, prompt=f"refund order {i}" if i % 2 else f"weather report {i}")
               for i in range(1, 40)]
    entries += [make_entry(now - 50_000 - i, prompt=None) for i in range(5)]  # no content: rowid gaps
    return entries


def test_new_writes_share_the_calls_rowid(db_path):
    now = int(time.time() * 1000)
    entries = _entries(now)
    seed(db_path, entries[:20])
    seed(db_path, entries[20:])
    conn = connect(db_path)
    assert _misaligned(conn) == 0
    assert conn.execute("SELECT count(*) FROM call_search s JOIN calls c ON c.rowid = s.rowid").fetchone()[0] == 39
    expected = sorted((e.call["id"] for e in entries if e.content and "refund" in e.content["prompt_text"]),
                      reverse=True)
    assert _search(conn, "refund") == expected
    conn.close()


def test_an_older_database_is_renumbered_and_its_search_rebuilt(db_path):
    now = int(time.time() * 1000)
    entries = _entries(now)
    seed(db_path, entries)
    conn = connect(db_path)
    # as a database written before m006 looks: content and search rows numbered on their own
    conn.execute("BEGIN")
    # numbered in reverse, so content rowids overlap the calls' and a one-step renumbering collides
    top = conn.execute("SELECT max(rowid) FROM calls").fetchone()[0]
    conn.execute("UPDATE call_content SET rowid = -rowid")
    conn.execute("UPDATE call_content SET rowid = ? + 1 + rowid", (top,))
    conn.execute("DELETE FROM call_search")
    conn.execute("INSERT INTO call_search (rowid, prompt_text, output_text) "
                 "SELECT rowid, prompt_text, output_text FROM call_content")
    conn.execute(f"PRAGMA user_version = {M006 - 1}")
    conn.execute("DROP INDEX calls_feedback")  # m016's index
    conn.execute("DROP INDEX calls_started_sums")  # m011's index, and m002's back in its place
    conn.execute(M002_QUERY_INDEXES.split(";")[1])
    conn.execute("DROP INDEX calls_flow_started")  # m017's
    conn.execute("DROP INDEX calls_customer_started")
    conn.execute("DROP INDEX calls_pii")  # m020's
    for column in ("token_encoding", "cache_write_1h_tokens", "input_audio_tokens", "output_audio_tokens",
                   "cost_buckets", "cost_nanos", "service_tier", "service_tier_priced",
                   "request_ip", "user_agent", "upstream_duration_ms",
                   "flow", "customer_id", "agent_role", "tool_call_count",
                   "pii"):  # after m006 (m007-m010, m013, m015, m017, m020)
        conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    conn.execute("ALTER TABLE export_jobs DROP COLUMN options")  # m012
    for column in ("tool_calls", "citations", "key_id"):  # m017, m021
        conn.execute(f"ALTER TABLE call_content DROP COLUMN {column}")
    conn.execute("DROP TABLE content_keys")  # m021
    for column in ("prompt_hash", "prompt_chars", "output_chars", "message_count"):  # m014
        conn.execute(f"ALTER TABLE call_content DROP COLUMN {column}")
    conn.execute("COMMIT")
    assert _misaligned(conn) == 39
    conn.close()
    conn = connect(db_path)  # migrates
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert _misaligned(conn) == 0
    assert conn.execute("SELECT count(*) FROM call_search").fetchone()[0] == 39
    expected = sorted((e.call["id"] for e in entries if e.content and "weather" in e.content["prompt_text"]),
                      reverse=True)
    assert _search(conn, "weather") == expected
    assert _search(conn, '"refund order 7"') == [entries[6].call["id"]]
    conn.close()


def test_a_deleted_calls_rowid_reused_by_a_new_call_does_not_bring_back_its_text(db_path):
    from llmlog.store.sqlite.erasure import delete_user

    now = int(time.time() * 1000)
    seed(db_path, [make_entry(now - 2000, prompt="ordinary words"),
                   make_entry(now - 1000, prompt="topsecret plans", user_id="leaver")])
    conn = connect(db_path)
    assert delete_user(conn, "leaver") == 1
    conn.close()
    fresh = make_entry(now, prompt="harmless text")
    seed(db_path, [fresh])
    conn = connect(db_path)
    assert _misaligned(conn) == 0
    assert _search(conn, "topsecret") == []
    assert _search(conn, "harmless") == [fresh.call["id"]]
    conn.close()
