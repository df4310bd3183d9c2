"""The database writer threads run at a lower priority than the event loop (Linux)."""

from __future__ import annotations

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
