"""The count of calls waiting for their first byte (the pipeline gives way to them) stays exact:
one while a call waits, none once every call has answered, failed, or been refused."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson

from proxy.app import FORWARDER, METRICS, PIPELINE

CHAT = "/v1/chat/completions"


def chat(stream: bool = False, **headers) -> dict:
    body = orjson.dumps({"model": "gpt-4o-mini", "stream": stream, "messages": [{"role": "user", "content": "a b"}]})
    return {"data": body, "headers": headers}


async def test_a_call_counts_as_opening_until_its_first_byte_then_never_again(make_proxy, fake, unused_tcp_port):
    client = await make_proxy()
    opening = client.app[FORWARDER].opening
    fake.header_delay_s = 0.3
    waiting = asyncio.create_task(client.post(CHAT, **chat(stream=True)))
    await asyncio.sleep(0.15)
    assert opening.count == 1 and not opening.none.is_set()
    resp = await waiting
    await resp.read()
    assert opening.count == 0 and opening.none.is_set()
    fake.header_delay_s = 0.0
    for kwargs in (chat(), chat(stream=True), chat(**{"x-llmlog-metadata": "not json"})):
        resp = await client.post(CHAT, **kwargs)
        await resp.read()
    assert opening.count == 0

    unreachable = await make_proxy(f"http://127.0.0.1:{unused_tcp_port}")
    assert (await unreachable.post(CHAT, **chat())).status == 502
    assert unreachable.app[FORWARDER].opening.count == 0


async def test_a_client_giving_up_before_the_first_byte_leaves_no_count_behind(make_proxy, fake):
    client = await make_proxy()
    fake.header_delay_s = 1.0
    with_timeout = client.post(CHAT, **chat(), timeout=aiohttp.ClientTimeout(total=0.2))
    try:
        await with_timeout
    except asyncio.TimeoutError:
        pass
    for _ in range(100):
        if client.app[FORWARDER].opening.count == 0:
            break
        await asyncio.sleep(0.02)
    assert client.app[FORWARDER].opening.count == 0


async def test_calls_always_waiting_for_a_first_byte_do_not_starve_logging(make_proxy, fake):
    """With slow upstreams some call is nearly always waiting for its first byte; the pipeline's
    waits are bounded per entry, so entries keep being written while the load goes on."""
    client = await make_proxy()
    fake.header_delay_s = 0.05
    metrics = client.app[METRICS]
    stop = asyncio.Event()
    sent = 0

    async def caller():
        nonlocal sent
        while not stop.is_set():
            resp = await client.post(CHAT, **chat())
            await resp.read()
            sent += 1

    callers = [asyncio.create_task(caller()) for _ in range(20)]
    await asyncio.sleep(1.0)
    written_midway, sent_midway = metrics.entries_written, sent
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*callers)
    print(f"[opening] {sent_midway} calls after 1 s, {written_midway} already written")
    assert sent_midway > 200 and written_midway > sent_midway / 2, (written_midway, sent_midway)
    await asyncio.wait_for(client.app[PIPELINE].flush(), 5)
    assert metrics.entries_written == sent
