"""The database writer threads run at a lower priority than the event loop (Linux), and a second
writer at the loop's own priority takes the writes while logging is behind."""

from __future__ import annotations

import asyncio
import sys
import threading

import orjson
import pytest

from tests.conftest import flushed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
CHAT = "/v1/chat/completions"


def niceness(native_id: int) -> int:
    with open(f"/proc/self/task/{native_id}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[16])  # field 19 of proc(5); the first two (pid, comm) are before ")"


def threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


@pytest.mark.parametrize("nice", [7, 0])
async def test_writer_threads_take_the_configured_niceness_and_the_loop_keeps_its_own(make_proxy, nice):
    base = niceness(threading.get_native_id())
    client = await make_proxy(store__writer_nice=nice)
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert (await client.post(CHAT, data=body)).status == 200
    await flushed(client)
    assert (await client.get("/v1/logs")).status == 200  # the reader thread exists too
    writers = threads_named("llmlog-writer")
    assert writers and all(niceness(t.native_id) == min(base + nice, 19) for t in writers)
    assert all(niceness(t.native_id) == base for t in threads_named("llmlog-reader"))
    assert niceness(threading.get_native_id()) == base


async def test_writes_go_through_the_catch_up_writer_at_the_loops_priority_only_while_logging_is_behind(make_proxy):
    base = niceness(threading.get_native_id())
    # 2 entries a batch: 60 calls answered at once leave many batches queued, which is being behind
    client = await make_proxy(store__writer_nice=7, store__batch_size=2)
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert (await client.post(CHAT, data=body)).status == 200
    await flushed(client)
    assert not threads_named("llmlog-catch-up")  # one call: never behind, so never started
    answers = await asyncio.gather(*(client.post(CHAT, data=body) for _ in range(60)))
    assert all(answer.status == 200 for answer in answers)
    await flushed(client)
    catch_up = threads_named("llmlog-catch-up")
    assert catch_up and all(niceness(t.native_id) == base for t in catch_up)
    assert all(niceness(t.native_id) == min(base + 7, 19) for t in threads_named("llmlog-writer"))
    logs = orjson.loads(await (await client.get("/v1/logs?limit=100")).read())
    assert len({e["id"] for e in logs["logs"]}) == 61 and all(e["output_tokens"] for e in logs["logs"])
