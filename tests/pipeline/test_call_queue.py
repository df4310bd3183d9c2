"""The pipeline's queue: bounded, FIFO, wakes its waiting consumer, and a cancel loses nothing."""

from __future__ import annotations

import asyncio

import pytest

from llmlog.proxy.pipeline.call_queue import CallQueue


async def test_items_come_out_in_order_and_a_full_queue_refuses_more():
    queue: CallQueue[int] = CallQueue(maxsize=2)
    queue.put_nowait(1)
    queue.put_nowait(2)
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait(3)
    assert queue.qsize() == 2
    assert [queue.get_nowait(), queue.get_nowait()] == [1, 2]
    assert queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_put_wakes_the_waiting_consumer():
    queue: CallQueue[str] = CallQueue(maxsize=10)
    waiting = asyncio.create_task(queue.wait())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait("call")
    await asyncio.wait_for(waiting, 1)
    assert queue.get_nowait() == "call"


async def test_wake_ends_a_wait_with_nothing_queued():
    queue: CallQueue[str] = CallQueue(maxsize=10)
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, queue.wake)
    await asyncio.wait_for(queue.wait(), 1)
    assert queue.empty()


async def test_a_cancelled_wait_leaves_later_items_for_the_next_one():
    queue: CallQueue[str] = CallQueue(maxsize=10)
    waiting = asyncio.create_task(queue.wait())
    await asyncio.sleep(0)
    waiting.cancel()
    queue.put_nowait("call")  # the same turn as the cancel
    await asyncio.gather(waiting, return_exceptions=True)
    assert waiting.cancelled() and queue.qsize() == 1
    await asyncio.wait_for(queue.wait(), 1)  # an item is there: returns at once
    assert queue.get_nowait() == "call"


async def test_join_waits_until_every_item_is_marked_done():
    queue: CallQueue[int] = CallQueue(maxsize=10)
    await asyncio.wait_for(queue.join(), 1)  # nothing put: nothing to wait for
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.create_task(queue.join())
    queue.get_nowait()
    queue.task_done()
    await asyncio.sleep(0.01)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)


async def test_more_task_done_calls_than_items_is_an_error():
    queue: CallQueue[int] = CallQueue(maxsize=10)
    queue.put_nowait(1)
    queue.get_nowait()
    queue.task_done()
    with pytest.raises(ValueError):
        queue.task_done()
