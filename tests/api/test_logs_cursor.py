"""Keyset cursors stay stable while new calls arrive: every pre-existing entry exactly once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from llmlog.store.backends import open_store
from tests.fakes.seeding import make_entry, seed

pytestmark = pytest.mark.backends

PRE_EXISTING = 2500


class Arrivals:
    """Writes new entries from another thread (another connection), as a busy proxy would."""

    def __init__(self, db_path: str, start_ms: int):
        self.db_path, self.next_ms, self.written = db_path, start_ms, 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        store = open_store(self.db_path)
        try:
            while not self.stop.is_set():
                batch = [make_entry(self.next_ms + i, prompt=None) for i in range(7)]
                self.next_ms += 7
                with self.lock:  # commit and count together, so a reader never sees one without the other
                    written, refused = store.write_or_split(batch)
                    assert written == len(batch) and not refused
                    self.written += written
                time.sleep(0.002)
        finally:
            store.close()


async def test_cursor_pages_through_2500_entries_while_new_ones_arrive(make_proxy, db_path):
    now = int(time.time() * 1000)
    first = now - 3_600_000
    # many share a millisecond, so the id tie-break of the keyset is exercised too
    entries = [make_entry(first + i // 3, prompt=None, cost_micros=i % 17) for i in range(PRE_EXISTING)]
    expected = set(seed(db_path, entries))
    client = await make_proxy()
    arrivals = Arrivals(db_path, now)
    writer = threading.Thread(target=arrivals.run)
    writer.start()
    seen: list[str] = []
    cursor, pages = None, 0
    try:
        for sort in ("timestamp", "cost"):
            seen, cursor, pages = [], None, 0
            while True:
                params = {"limit": "200", "sort_by": sort, "start_date": "-2h"}
                if cursor:
                    params["cursor"] = cursor
                with arrivals.lock:
                    before = arrivals.written
                body = await (await client.get("/v1/logs", params=params)).json()
                with arrivals.lock:
                    after = arrivals.written
                assert PRE_EXISTING + before <= body["total"] <= PRE_EXISTING + after
                seen += [e["id"] for e in body["logs"]]
                pages += 1
                cursor = body["pagination"]["next_cursor"]
                if not cursor:
                    break
                await asyncio.sleep(0.005)
            pre = [i for i in seen if i in expected]
            assert len(pre) == len(set(pre)) == PRE_EXISTING, sort  # each exactly once
            assert len(seen) == len(set(seen))
            assert pages >= PRE_EXISTING // 200
    finally:
        arrivals.stop.set()
        writer.join()
    assert arrivals.written > 0  # entries really did arrive while paging


async def test_include_total_false_leaves_the_count_out_and_nothing_else(make_proxy, db_path):
    now = int(time.time() * 1000)
    entries = [make_entry(now - 60_000 + i, prompt="alpha beta" if i % 2 else "gamma", cost_micros=i)
               for i in range(30)]
    seed(db_path, entries)
    client = await make_proxy()
    for extra in ({}, {"q": "alpha"}, {"sort_by": "cost"}):
        first = await (await client.get("/v1/logs", params={"limit": "10", **extra})).json()
        assert first["total"] == (15 if "q" in extra else 30)
        cursor = first["pagination"]["next_cursor"]
        counted = await (await client.get("/v1/logs", params={"limit": "10", "cursor": cursor, **extra})).json()
        uncounted = await (await client.get("/v1/logs", params={"limit": "10", "cursor": cursor,
                                                                "include_total": "false", **extra})).json()
        assert uncounted["total"] is None and counted["total"] == first["total"]
        assert uncounted["logs"] == counted["logs"] and uncounted["pagination"] == counted["pagination"]
    answer = await client.get("/v1/logs", params={"include_total": "maybe"})
    assert answer.status == 400 and "include_total" in (await answer.json())["error"]["message"]
    assert (await (await client.get("/v1/logs", params={"include_total": "true"})).json())["total"] == 30
