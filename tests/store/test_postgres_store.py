"""PostgresStore answers as SqliteStore does: both get the same seeded entries and every read,
aggregate and change is compared. Also what only PostgreSQL has: reconnecting after a restart,
migrations run once by replicas starting together, weekly partitions dropped by retention,
export files kept in the database, advisory-lock claims, passwords kept out of what is printed.

The server and a fresh database per test come from tests/fakes/postgres_server.py (`postgres_server`,
`postgres_url`): a throwaway cluster, or LLMLOG_TEST_POSTGRES_URL; with no server these tests skip,
except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import copy
import os
import socket
import threading
import time

import pytest

from llmlog.store.backends import open_store
from llmlog.store.figures import AggregateError
from llmlog.store.filters import SORT_KEYS, LogFilter, Page
from llmlog.store.interface import EXPORT_CHUNK_BYTES, StoreError
from llmlog.store.postgres.migrations import MIGRATIONS
from tests.fakes import faulty_store
from tests.fakes.postgres_server import with_database
from tests.fakes.seeding import make_entry

psycopg = pytest.importorskip("psycopg")

DAY = 86_400_000
BASE = 1_704_067_200_000  # Monday 2024-01-01 00:00 UTC


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entries() -> list:
    """A varied set spread over three weeks: models, statuses, users, keys, tags, streams, NULL
    costs and durations, parents and children, texts that exercise word splitting."""
    texts = ["Hello wörld, how are you?", "the gpt-4o model answered 3.14", "email me at a@b.com please",
             "Café au lait", "foo_bar and baz", "nothing special here", "Hello again world"]
    out = []
    for i in range(60):
        started = BASE + i * 9 * 3_600_000 + (i % 7) * 1000
        fields = dict(
            model=("gpt-4o-mini", "gpt-4o", "claude-3", None)[i % 4],
            provider=("openai", "anthropic")[i % 2],
            status=("success", "success", "error", "timeout", "client_closed")[i % 5],
            status_code=(200, 200, 500, None, None)[i % 5],
            user_id=(f"user-{i % 3}" if i % 5 else None),
            api_key_hash=f"hash{i % 4}", api_key_prefix=f"sk-{i % 4}",
            environment=("prod", "dev", None)[i % 3], task_type=("chat", "embed")[i % 2],
            stream=i % 2, trace_id=f"trace-{i % 6}", session_id=f"s-{i % 5}",
            duration_ms=(None if i % 11 == 0 else 100.0 + (i * 37) % 500),
            input_tokens=(None if i % 13 == 0 else 10 + i), output_tokens=(None if i % 13 == 0 else 5 + i),
            total_tokens=(None if i % 13 == 0 else 15 + 2 * i),
            cost_micros=(None if i % 6 == 0 else 100 + (i * 7) % 90),
            cost_nanos=(None if i % 6 == 0 else 100_000 + (i * 7919) % 90_000),
            priced=(0 if i % 6 == 0 else 1),
        )
        tags = (("red",), ("red", "blue"), (), ("green",))[i % 4]
        prompt = None if i % 9 == 4 else texts[i % len(texts)]
        entry = make_entry(started, prompt=prompt, output=f"output {i} done", tags=tags, **fields)
        out.append(entry)
    # a small tree: root -> 2 children -> 1 grandchild, and one child of an unlogged parent
    root = out[10].call["id"]
    out[11].call["parent_id"] = root
    out[12].call["parent_id"] = root
    out[13].call["parent_id"] = out[12].call["id"]
    out[20].call["parent_id"] = "01UNLOGGEDPARENT0000000000"
    return sorted(out, key=lambda e: e.call["id"])


@pytest.fixture
def both(postgres_url, tmp_path):
    """(sqlite store, postgres store) holding the same entries."""
    entries = _entries()
    stores = [open_store(str(tmp_path / "llmlog.db")), open_store(postgres_url)]
    for store in stores:
        written, refused = store.write_or_split(copy.deepcopy(entries))
        assert (written, refused) == (len(entries), [])
    yield stores
    for store in stores:
        store.close()


FILTERS = [
    LogFilter(),
    LogFilter(start_ms=BASE + DAY, end_ms=BASE + 10 * DAY),
    LogFilter(models=["gpt-4o", "claude-3"]),
    LogFilter(providers=["anthropic"], statuses=["error", "timeout"]),
    LogFilter(status_codes=[200]),
    LogFilter(user_ids=["user-1"]),
    LogFilter(api_key_ids=["hash1", "sk-2"]),
    LogFilter(tags=["blue", "green"]),
    LogFilter(environments=["prod"], task_types=["chat"]),
    LogFilter(trace_ids=["trace-1"], session_ids=["s-1"]),
    LogFilter(root_only=True),
    LogFilter(stream=True),
    LogFilter(stream=False),
    LogFilter(min_cost_micros=120, max_cost_micros=170),
    LogFilter(min_duration_ms=200.0, max_duration_ms=450),
    LogFilter(min_tokens=40, max_tokens=90),
    LogFilter(parent_ids=[]),
    LogFilter(text="hello"),
    LogFilter(text="HELLO world"),
    LogFilter(text="gpt-4o"),
    LogFilter(text="gpt 4o"),
    LogFilter(text="14"),
    LogFilter(text="cafe"),
    LogFilter(text="wörld"),
    LogFilter(text="com"),
    LogFilter(text="foo"),
    LogFilter(text="!!!"),
    LogFilter(text="hello !!!"),
    LogFilter(text="\"hello\" OR world*"),
    LogFilter(text="done 7"),
    LogFilter(text="output 7"),
    LogFilter(text="hello", models=["gpt-4o-mini"]),
    # a time range is copied into the text and tag subqueries (store/postgres/where.py)
    LogFilter(text="output", start_ms=BASE + 2 * DAY, end_ms=BASE + 12 * DAY),
    LogFilter(text="hello", start_ms=BASE + 8 * DAY),
    LogFilter(tags=["red"], start_ms=BASE + DAY, end_ms=BASE + 9 * DAY),
    LogFilter(tags=["green"], end_ms=BASE + 7 * DAY + 1),
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: repr({k: v for k, v in vars(f).items() if v}
                                                          if hasattr(f, "__dict__") else f)[:60])
def test_list_matches_sqlite_for_each_filter(both, f):
    lite, pg = both
    for sort in SORT_KEYS:
        for descending in (True, False):
            page = Page(sort_by=sort, descending=descending, limit=100)
            a, b = lite.list_logs(f, page), pg.list_logs(f, page)
            assert b.total == a.total
            assert b.rows == a.rows  # same ids, order, values and value types
    assert pg.count(f) == lite.count(f)
    assert pg.oldest_start(f) == lite.oldest_start(f)


@pytest.mark.parametrize("few", [0, 5])
def test_text_pages_walked_in_order_match_sqlite(both, postgres_url, few):
    """A search matching more than FEW_MATCHES calls is paged by walking the sort order (the
    seeded ones match fewer, so they take the matches-first path in the test above)."""
    from llmlog.store.postgres.store import PostgresStore
    lite, _ = both
    pg = PostgresStore(postgres_url, few_matches=few)  # the same database, walking from `few` matches
    try:
        for f in (LogFilter(text="output"), LogFilter(text="hello"),
                  LogFilter(text="output", start_ms=BASE + 2 * DAY, end_ms=BASE + 12 * DAY)):
            assert pg.count(f) > few
            for sort in SORT_KEYS:
                for descending in (True, False):
                    for page in (Page(sort_by=sort, descending=descending, limit=100),
                                 Page(sort_by=sort, descending=descending, limit=4, offset=3)):
                        a, b = lite.list_logs(f, page), pg.list_logs(f, page)
                        assert (b.total, b.rows, b.next_cursor) == (a.total, a.rows, a.next_cursor)
    finally:
        pg.close()


def test_the_text_filter_finds_something(both):
    lite, pg = both
    for text, at_least in (("hello", 2), ("gpt-4o", 1), ("cafe", 1), ("com", 1)):
        assert pg.count(LogFilter(text=text)) == lite.count(LogFilter(text=text)) >= at_least


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_pages_by_cursor_and_offset_match_sqlite(both, sort):
    lite, pg = both
    for descending in (True, False):
        for f in (LogFilter(), LogFilter(text="output")):
            walks = []
            for store in (lite, pg):
                ids, cursors, cursor = [], [], None
                while True:
                    page = store.list_logs(f, Page(sort_by=sort, descending=descending, limit=7, cursor=cursor))
                    ids += [r["id"] for r in page.rows]
                    cursors.append(page.next_cursor)
                    if not page.has_more:
                        break
                    cursor = page.next_cursor
                offsets, offset = [], 0
                while True:
                    page = store.list_logs(f, Page(sort_by=sort, descending=descending, limit=9, offset=offset))
                    offsets += [r["id"] for r in page.rows]
                    if page.next_offset is None:
                        break
                    offset = page.next_offset
                walks.append((ids, cursors, offsets))
            assert walks[1] == walks[0]
            assert len(walks[0][0]) == lite.count(f)


def test_get_events_previews_and_any_calls_match(both):
    lite, pg = both
    ids = [r["id"] for r in lite.list_logs(LogFilter(), Page(limit=100)).rows]
    for call_id in ids + ["nope"]:
        assert pg.get_log(call_id) == lite.get_log(call_id)
        assert pg.events(call_id) == lite.events(call_id)
    assert pg.previews(ids, 5) == lite.previews(ids, 5)
    assert pg.previews([]) == {}
    assert pg.any_calls() and lite.any_calls()


def _figures(figures):
    return {name: getattr(figures, name) for name in figures.__slots__} | {
        "p": [figures.pct(p) for p in (50, 90, 95, 99)], "avg": figures.avg_latency_ms}


def _stats(stats):
    return (stats.group_by, [(k, _figures(v)) for k, v in stats.groups], _figures(stats.totals),
            stats.start_ms, stats.end_ms)


@pytest.mark.parametrize("f", [LogFilter(), LogFilter(start_ms=BASE, end_ms=BASE + 15 * DAY),
                               LogFilter(text="hello"), LogFilter(tags=["red"]),
                               LogFilter(text="output", tags=["red"], start_ms=BASE + 3 * DAY,
                                         end_ms=BASE + 15 * DAY)], ids=str)
def test_summary_and_stats_match(both, f):
    lite, pg = both
    a, b = lite.summary(f), pg.summary(f)
    assert _figures(b.totals) == _figures(a.totals)
    for name in ("by_model", "by_provider", "by_status", "by_task_type"):
        assert {k: _figures(v) for k, v in getattr(b, name).items()} == \
               {k: _figures(v) for k, v in getattr(a, name).items()}
    assert type(b.totals.cost_nanos) is int and type(b.totals.duration_sum) is float
    windowed = LogFilter(**{**{k: getattr(f, k) for k in f.__slots__}, "start_ms": BASE + 3 * DAY,
                            "end_ms": BASE + 17 * DAY})
    for group_by in ("model", "provider", "user", "api_key", "status", "tag", "environment", "task_type",
                     "5m", "hour", "day", "week"):
        for compare in (False, True):
            a_now, a_before = lite.stats(windowed, group_by, compare)
            b_now, b_before = pg.stats(windowed, group_by, compare)
            assert _stats(b_now) == _stats(a_now), group_by
            assert (b_before and _stats(b_before)) == (a_before and _stats(a_before))
    with pytest.raises(AggregateError):
        pg.stats(LogFilter(), "day")


def test_hierarchy_matches(both):
    lite, pg = both
    for row in lite.list_logs(LogFilter(), Page(limit=100)).rows:
        assert pg.hierarchy(row["id"]) == lite.hierarchy(row["id"])
    assert pg.hierarchy("missing") is None


def test_hierarchy_links_to_parents_stored_earlier(postgres_url, tmp_path):
    root = make_entry(BASE)
    child = make_entry(BASE + 10, parent_id=root.call["id"])
    grandchild = make_entry(BASE + 8 * DAY, parent_id=child.call["id"])  # another week's partition
    pg = open_store(postgres_url)
    for entry in (root, child, grandchild):  # one batch each: parents found among stored calls
        assert pg.write_or_split([entry]) == (1, [])
    node = pg.hierarchy(grandchild.call["id"])
    assert (node.node["root_id"], node.node["depth"], node.tree_calls, node.tree_max_depth) == \
           (root.call["id"], 2, 3, 2)
    assert [n["id"] for n in node.breadcrumb] == [root.call["id"], child.call["id"], grandchild.call["id"]]
    pg.close()


def test_export_batches_match(both):
    lite, pg = both
    for f in (LogFilter(), LogFilter(tags=["red"]), LogFilter(text="hello")):
        for content in ((), ("prompt_text", "output_text", "request_body", "response_body",
                             "request_headers", "response_headers")):
            after = None
            while True:
                a = lite.export_batch(f, after, content=content, limit=8)
                b = pg.export_batch(f, after, content=content, limit=8)
                assert b == a
                if len(a) < 8:
                    break
                after = (a[-1]["started_at"], a[-1]["id"])
    with pytest.raises(ValueError):
        pg.export_batch(LogFilter(), content=["search"])
    assert pg.model_call_counts() == lite.model_call_counts()
    assert pg.model_call_counts(BASE + 5 * DAY) == lite.model_call_counts(BASE + 5 * DAY)


def test_feedback_and_reprice_match(both):
    lite, pg = both
    call_id = lite.list_logs(LogFilter(), Page(limit=1)).rows[0]["id"]
    for store in both:
        assert store.set_feedback(call_id, {"score": 1, "note": "good"})
        assert not store.set_feedback("missing", {"score": 0})
    assert pg.get_log(call_id) == lite.get_log(call_id)

    def price(row):
        tokens = (row["input_tokens"] or 0) + (row["output_tokens"] or 0)
        priced = row["model"] is not None
        return {"priced": int(priced), "cost_micros": tokens if priced else None, "input_cost_micros": None,
                "cached_input_cost_micros": None, "cache_write_cost_micros": None, "output_cost_micros": None,
                "pricing_version": "v2", "cost_buckets": None, "cost_nanos": tokens * 1000 if priced else None,
                "service_tier_priced": None}
    for since in (BASE + 10 * DAY, None):
        assert pg.count_repriceable(since) == lite.count_repriceable(since)
        seen_a, seen_b = [], []
        assert pg.reprice(price, since_ms=since, batch_size=7, progress=seen_b.append) == \
               lite.reprice(price, since_ms=since, batch_size=7, progress=seen_a.append)
        assert seen_a == seen_b
    page = Page(sort_by="cost", limit=100)
    assert pg.list_logs(LogFilter(), page).rows == lite.list_logs(LogFilter(), page).rows
    assert _figures(pg.summary(LogFilter()).totals) == _figures(lite.summary(LogFilter()).totals)


def test_erasure_matches_and_withdraws_export_files(both, tmp_path):
    lite, pg = both
    for store in both:
        store.create_job("job1", "jsonl", None, {}, BASE)
        assert store.start_job("job1", store.export_path("job1", "jsonl"), BASE)
        path = store.export_path("job1", "jsonl")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"x" * 10)
        assert store.finish_job("job1", 1, None, BASE + 1, oldest_started_at=BASE, holds_content=True, written=path)
        assert store.read_export_chunk("job1", 0) == b"x" * 10
    assert pg.delete_user("user-1") == lite.delete_user("user-1") > 0
    assert pg.delete_user("user-1") == 0
    f = LogFilter()
    assert pg.list_logs(f, Page(limit=100)).rows == lite.list_logs(f, Page(limit=100)).rows
    assert pg.count(LogFilter(user_ids=["user-1"])) == 0
    assert pg.count(LogFilter(tags=["red"])) == lite.count(LogFilter(tags=["red"]))
    assert pg.count(LogFilter(text="hello")) == lite.count(LogFilter(text="hello"))
    for store in both:
        job = store.get_job("job1")
        assert job["status"] == "failure" and "erased" in job["error"]
        assert store.read_export_chunk("job1", 0) is None
    with psycopg.connect(pg._url) as conn:
        assert conn.execute("SELECT count(*) FROM call_content cc WHERE NOT EXISTS "
                            "(SELECT 1 FROM calls c WHERE c.id = cc.call_id)").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM call_tags t WHERE NOT EXISTS "
                            "(SELECT 1 FROM calls c WHERE c.id = t.call_id)").fetchone()[0] == 0


@pytest.mark.parametrize("content_only", [False, True])
def test_prune_matches_and_drops_whole_weeks(both, content_only):
    lite, pg = both
    cutoff = BASE + 10 * DAY + 3_600_000  # inside the second week: week one dropped, week two cut
    a, b = lite.prune(cutoff, content_only), pg.prune(cutoff, content_only)
    assert (b.calls_deleted, b.contents_dropped) == (a.calls_deleted, a.contents_dropped)
    assert (a.calls_deleted or a.contents_dropped) > 0
    page = Page(limit=100)
    assert pg.list_logs(LogFilter(), page).rows == lite.list_logs(LogFilter(), page).rows
    ids = [r["id"] for r in lite.list_logs(LogFilter(), page).rows]
    assert [pg.get_log(i) for i in ids] == [lite.get_log(i) for i in ids]
    assert pg.count(LogFilter(text="hello")) == lite.count(LogFilter(text="hello"))
    with psycopg.connect(pg._url) as conn:
        names = {row[0] for row in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid")}
    assert ("call_content_w20240101" in names) is False
    assert ("calls_w20240101" in names) is content_only
    assert "calls_w20240108" in names and "call_content_w20240108" in names
    again_a, again_b = lite.prune(cutoff, content_only), pg.prune(cutoff, content_only)
    assert (again_b.calls_deleted, again_b.contents_dropped) == (again_a.calls_deleted, again_a.contents_dropped)
    # writing into a week whose partitions were dropped makes them again
    late = make_entry(BASE + DAY, prompt="late arrival")
    for store in both:
        assert store.write_or_split([copy.deepcopy(late)]) == (1, [])
    assert pg.get_log(late.call["id"]) == lite.get_log(late.call["id"])


def test_prune_expires_export_files(both):
    lite, pg = both
    for store in both:
        for job_id, oldest, content in (("old", BASE, True), ("new", BASE + 20 * DAY, True),
                                        ("nocontent", BASE, False)):
            store.create_job(job_id, "csv", None, {}, BASE)
            path = store.export_path(job_id, "csv")
            store.start_job(job_id, path, BASE)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(b"a,b\n")
            store.finish_job(job_id, 1, None, BASE + 30 * DAY, oldest_started_at=oldest, holds_content=content,
                             written=path)
    a, b = lite.prune(BASE + 5 * DAY, True), pg.prune(BASE + 5 * DAY, True)
    assert b.export_files_removed == a.export_files_removed == 1
    a, b = lite.prune(BASE + 5 * DAY), pg.prune(BASE + 5 * DAY)
    assert b.export_files_removed == a.export_files_removed == 1
    for store in both:
        assert [store.get_job(j)["status"] for j in ("old", "new", "nocontent")] == ["failure", "success", "failure"]
        assert store.read_export_chunk("new", 0) == b"a,b\n"
        assert store.read_export_chunk("old", 0) is None


def test_jobs_match(both):
    lite, pg = both
    for store in both:
        assert store.create_job("a", "csv", ["id", "model"], {"model": "x"}, BASE)["status"] == "draft"
        store.create_job("b", "jsonl", None, {}, BASE + 1)
        assert store.start_job("a", "/x/a.csv", BASE + 2)
        assert not store.start_job("a", "/x/a.csv", BASE + 3)
        assert store.start_job("b", "/x/b.jsonl", BASE + 2)
        assert store.finish_job("b", 3, None, BASE + 4, oldest_started_at=BASE, holds_content=False)
        assert not store.finish_job("b", 3, None, BASE + 5)
        assert store.fail_interrupted(BASE + 6) == 1
    assert pg.list_jobs() == lite.list_jobs()
    assert pg.get_job("a") == lite.get_job("a") and pg.get_job("zz") is None
    assert pg.list_jobs(1) == lite.list_jobs(1)


def test_a_withdrawn_job_keeps_no_file(postgres_url):
    """Erasure withdrew the job while it ran: what it wrote may quote the erased user, so its
    finish keeps nothing and removes the scratch file."""
    pg = open_store(postgres_url)
    pg.write_or_split([make_entry(BASE, user_id="leaver")])
    pg.create_job("gone", "jsonl", None, {}, BASE)
    path = pg.export_path("gone", "jsonl")
    assert pg.start_job("gone", path, BASE)
    with open(path, "wb") as handle:
        handle.write(b"quotes the erased user")
    assert pg.delete_user("leaver") == 1  # an erasure withdraws every export
    assert not pg.finish_job("gone", 1, None, BASE, written=path)
    assert not os.path.exists(path) and pg.read_export_chunk("gone", 0) is None
    pg.close()


def test_export_file_kept_in_chunks_and_scratch_removed(postgres_url):
    pg = open_store(postgres_url)
    pg.create_job("big", "jsonl", None, {}, BASE)
    path = pg.export_path("big", "jsonl")
    assert pg.start_job("big", path, BASE)
    body = os.urandom(2 * EXPORT_CHUNK_BYTES + 123)
    with open(path, "wb") as handle:
        handle.write(body)
    assert pg.finish_job("big", 5, None, BASE, written=path)
    assert not os.path.exists(path)
    other = open_store(postgres_url)  # another replica reads it
    chunks = [other.read_export_chunk("big", i) for i in range(4)]
    assert b"".join(chunks) == body and [len(c) for c in chunks] == [EXPORT_CHUNK_BYTES, EXPORT_CHUNK_BYTES, 123, 0]
    assert other.read_export_chunk("missing", 0) is None
    empty = pg.export_path("empty", "csv")
    pg.create_job("empty", "csv", None, {}, BASE)
    assert pg.start_job("empty", empty, BASE)
    open(empty, "wb").close()
    assert pg.finish_job("empty", 0, None, BASE, written=empty)
    assert other.read_export_chunk("empty", 0) == b"" and other.read_export_chunk("empty", 1) == b""
    pg.close()
    other.close()


def test_replayed_batches_never_duplicate_and_bad_entries_are_refused_alone(postgres_url):
    pg = open_store(postgres_url)
    batch = [make_entry(BASE + i) for i in range(5)]
    assert pg.write_or_split(batch) == (5, [])
    more = batch + [make_entry(BASE + 10)]
    assert pg.write_or_split(more) == (1, [])
    bad = make_entry(BASE + 11)
    bad.call["status_code"] = 2**40  # out of an integer column's range: a data error
    good = make_entry(BASE + 12, prompt="nul\x00inside")
    written, refused = pg.write_or_split([bad, good])
    assert written == 1 and [e.call["id"] for e, _ in refused] == [bad.call["id"]]
    assert "NumericValueOutOfRange" in refused[0][1] or "out of range" in refused[0][1]
    assert pg.count(LogFilter()) == 7
    assert pg.get_log(good.call["id"])[1]["prompt_text"] == "nul\ufffdinside"
    pg.close()


def test_compressed_bodies_read_back_as_sent(postgres_url, tmp_path):
    entry = make_entry(BASE, prompt="x" * 5000)
    entry.content["response_body"] = b"data: " + b"y" * 4000
    pg = open_store(postgres_url)
    assert pg.write_or_split([copy.deepcopy(entry)]) == (1, [])
    _, content = pg.get_log(entry.call["id"])
    assert content["request_body"] == entry.content["request_body"]
    assert content["response_body"] == entry.content["response_body"]
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT body_encoding FROM call_content").fetchone()[0] == "zlib"
    pg.close()


def test_reconnects_after_the_connection_is_lost(postgres_url, postgres_server):
    pg = open_store(postgres_url)
    assert pg.write_or_split([make_entry(BASE)]) == (1, [])
    assert pg.try_exclusive("retention")
    pid = pg.conn.info.backend_pid
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    # the server ended the session (a restart, a failover): the call connects again and is done
    # once more on the new session, so neither a write nor a read fails for it
    assert pg.write_or_split([make_entry(BASE + 1)]) == (1, [])
    assert pg.write_or_split([make_entry(BASE + 2)]) == (1, [])
    assert pg.count(LogFilter()) == 3
    assert pg.try_exclusive("retention")  # the lost session's lock went with it
    pg.close()


def test_unreachable_server_raises_from_write(postgres_url):
    pg = open_store(postgres_url)
    pg._url = "postgresql://nobody:secret@127.0.0.1:1/nowhere"  # as if the server went away
    pg._drop_connection()
    with pytest.raises(StoreError) as caught:
        pg.write_or_split([make_entry(BASE)])
    assert "127.0.0.1:1" in str(caught.value) and "secret" not in str(caught.value)
    pg.close()


def test_errors_name_the_server_and_never_the_password(postgres_server, monkeypatch):
    port = _free_port()
    with pytest.raises(StoreError) as caught:
        open_store(f"postgresql://me:hunter2@127.0.0.1:{port}/logs")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "logs" in message and "hunter2" not in message
    assert "\n" not in message
    with pytest.raises(StoreError) as caught:
        open_store(with_database(postgres_server.url, "no_such_database_here"))
    assert "no_such_database_here" in str(caught.value) and "does not exist" in str(caught.value)
    monkeypatch.delenv("LLMLOG_PG_SECRET", raising=False)
    with pytest.raises(StoreError, match="LLMLOG_PG_SECRET"):
        open_store(postgres_server.url, password_env="LLMLOG_PG_SECRET")


def test_password_from_the_named_variable_and_location_without_it(postgres_server, postgres_url, monkeypatch):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE ROLE llmlog_pw LOGIN PASSWORD 'pw-123' SUPERUSER")
    try:
        monkeypatch.setenv("LLMLOG_PG_SECRET", "pw-123")
        url = postgres_url.replace("postgres@", "llmlog_pw@")
        pg = open_store(url, password_env="LLMLOG_PG_SECRET")
        assert pg.conn.info.user == "llmlog_pw"
        pg.close()
        with_pw = open_store(postgres_url.replace("postgres@", "llmlog_pw:pw-123@") + "?password=pw-123")
        assert "pw-123" not in with_pw.location and with_pw.location.startswith("postgresql://llmlog_pw@127.0.0.1:")
        with_pw.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP OWNED BY llmlog_pw")
            conn.execute("DROP ROLE llmlog_pw")


def test_create_false_on_a_database_without_the_store(postgres_url):
    with pytest.raises(StoreError) as caught:
        open_store(postgres_url, create=False)
    assert "no llmlog database" in str(caught.value) and "\n" not in str(caught.value)
    open_store(postgres_url).close()
    open_store(postgres_url, create=False).close()


def test_replicas_starting_together_migrate_once(postgres_url):
    stores, errors = [], []

    def start():
        try:
            stores.append(open_store(postgres_url))
        except Exception as exc:  # noqa: BLE001 - any failure fails the test below
            errors.append(exc)
    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(stores) == 6
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM llmlog_migrations").fetchone()[0] == len(MIGRATIONS)  # each once
    # and writers making the same new week's partitions at once
    results, errors = [], []

    def write(store, i):
        try:
            results.append(store.write_or_split([make_entry(BASE + 50 * DAY + i)]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [(1, [])] * 6
    for store in stores:
        store.close()


def test_exclusive_claims_between_replicas(postgres_url):
    a, b = open_store(postgres_url), open_store(postgres_url)
    assert a.try_exclusive("retention") and a.try_exclusive("retention")
    assert not b.try_exclusive("retention")
    assert b.try_exclusive("export-1")
    a.release_exclusive("retention")
    assert b.try_exclusive("retention")
    b.close()  # closing lets go of what it held
    assert a.try_exclusive("retention") and a.try_exclusive("export-1")
    assert a.checkpoint() == 0 and a.backend == "postgresql"
    a.close()


def test_refuses_entries_only_for_their_data_never_for_availability(postgres_url):
    def down(real_write, conn, entries):
        raise psycopg.OperationalError("server closed the connection unexpectedly")
    faults = faulty_store.Faults(write_batch=down)
    pg = faulty_store.open_store(postgres_url, faults)
    with pytest.raises(StoreError, match="server closed the connection"):  # propagates: the pipeline spills
        pg.write_or_split([make_entry(BASE)])

    def read_only(real_write, conn, entries):
        conn.execute("SET TRANSACTION READ ONLY")  # outside a transaction: a warning, no effect
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute("INSERT INTO export_jobs (id, created_at, status, format, filters) "
                         "VALUES ('x', 0, 'draft', 'csv', '{}')")
    faults.write_batch = read_only
    with pytest.raises(StoreError, match="read-only transaction"):
        pg.write_or_split([make_entry(BASE)])
    pg.close()


def test_a_deadlock_is_run_again_and_a_lasting_one_is_a_store_error(postgres_url):
    """Another process's erasure or prune on the same rows can deadlock with ours: PostgreSQL rolls
    one transaction back whole, so it is safe, and enough, to run it again."""
    pg = open_store(postgres_url)
    tries: list[int] = []

    def deadlocks_once(conn):
        tries.append(1)
        if len(tries) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return conn.execute("SELECT 41 + 1").fetchone()[0]
    assert pg._do(deadlocks_once) == 42 and len(tries) == 2

    def always(conn):
        raise psycopg.errors.DeadlockDetected("deadlock detected")
    with pytest.raises(StoreError, match="deadlock detected"):
        pg._do(always)
    pg.close()
