"""The writer never checkpoints inside its COMMIT; a background pass keeps the WAL short instead."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import orjson
import pytest

from llmlog.proxy.app import Seams
from llmlog.proxy.state import METRICS
from tests.conftest import flushed, wait_until

pytestmark = pytest.mark.sqlite_only  # SQLite's write-ahead log and its checkpoints

CHAT = "/v1/chat/completions"
TEXT = "x" * 20_000  # each call stores this in the body, the prompt text and the search index


async def wal_sizes_after_bursts(client, db_path: str, bursts: int = 4, *, passes: bool = True
                                 ) -> tuple[list[int], list[str]]:
    """Bursts of calls; after each, wait (when `passes`) until checkpoint passes have caught up
    with the burst, then note the WAL's size."""
    metrics = client.app[METRICS]
    ids, sizes = [], []
    for burst in range(bursts):
        for i in range(40):
            message = {"role": "user", "content": f"{burst}.{i} {TEXT}"}
            body = orjson.dumps({"model": "gpt-4o-mini", "messages": [message]})
            resp = await client.post(CHAT, data=body)
            assert resp.status == 200
            ids.append(resp.headers["x-llmlog-id"])
        await flushed(client)
        if passes:  # a pass after the flush, then none pending (writes since the last pass trigger one)
            await wait_until(lambda c=metrics.checkpoints: metrics.checkpoints > c, 2.0, fail=False)  # may have run
            settled = -1
            while settled != metrics.checkpoints:
                settled = metrics.checkpoints
                await asyncio.sleep(0.25)
        sizes.append(os.path.getsize(db_path + "-wal"))
    return sizes, ids


async def test_the_wal_is_checkpointed_in_the_background_and_stays_short(make_proxy, db_path):
    client = await make_proxy(seams=Seams(checkpoint_interval_s=0.05))
    sizes, ids = await wal_sizes_after_bursts(client, db_path)
    # a WAL checkpointed after each burst is reused from its start: it never holds two bursts
    assert sizes[-1] < 1.5 * sizes[0], sizes
    with sqlite3.connect(db_path) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT id FROM calls")) == sorted(ids)


async def test_without_the_background_pass_the_wal_holds_every_burst(make_proxy, db_path):
    """The check above can fail: the writer itself does not checkpoint, so with the pass switched
    off its WAL grows with every burst."""
    client = await make_proxy(seams=Seams(checkpoint_interval_s=3600))
    sizes, _ = await wal_sizes_after_bursts(client, db_path, passes=False)
    assert sizes[-1] > 3 * sizes[0], sizes
