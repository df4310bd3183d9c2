"""What makes a `serve` process a worker of a supervisor, and how it tells the supervisor it listens.

The supervisor starts each worker as `python -m llmlog.cli serve ...` with the flags it was given
(the port made concrete) and two variables of its own: `_LLMLOG_WORKER` (this worker's index) and
`_LLMLOG_WORKER_READY` (a pipe's descriptor, written to once the worker listens). They are not
settings: nobody sets them but the supervisor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from llmlog.proxy.workers.role import Worker

WORKER_ENV, READY_ENV = "_LLMLOG_WORKER", "_LLMLOG_WORKER_READY"
SUPERVISOR_ENV = "_LLMLOG_SUPERVISOR"  # the supervisor's pid: how workers know one another
PARENT_CHECK_S = 1.0
log = logging.getLogger("llmlog.workers")


def worker_from_env(count: int, env: Mapping[str, str] = os.environ) -> Worker | None:
    """This process's place among `count` workers, when a supervisor started it; else None."""
    index = env.get(WORKER_ENV)
    if index is None:
        return None
    return Worker(int(index), count)


def tell_ready(env: Mapping[str, str] = os.environ) -> None:
    """Tell the supervisor this worker listens (its pipe closes with the process either way)."""
    fd = env.get(READY_ENV)
    if fd is not None:
        with suppress(OSError):
            os.write(int(fd), b"1")
            os.close(int(fd))


async def leave_with_parent(app: Any) -> Any:
    """A cleanup_ctx: when the supervisor is gone (killed: it could not stop this worker), stop as
    SIGTERM stops a worker, draining and flushing, rather than serve on unsupervised."""
    parent = os.getppid()

    async def watch() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(PARENT_CHECK_S)
        log.warning("the supervisor (pid %d) is gone; this worker stops", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    task = asyncio.create_task(watch(), name="llmlog-parent-watch")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def ignore_repeated_stops(app: Any) -> None:
    """An on_shutdown hook: once a worker is stopping, another SIGTERM or SIGINT changes nothing.
    A service manager signals every process of the unit and the supervisor passes the stop on as
    well; a second signal would otherwise end the worker in the middle of its flush."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: None)


def other_workers_alive(env: Mapping[str, str] = os.environ) -> bool:
    """Whether another worker of this process's supervisor still runs (Linux: this user's processes
    whose environment names the same supervisor). Found by environment rather than parent, so it
    holds after a killed supervisor left the workers to stop on their own."""
    supervisor = env.get(SUPERVISOR_ENV)
    if supervisor is None or not os.path.isdir("/proc"):
        return False
    mark = f"{SUPERVISOR_ENV}={supervisor}".encode()
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as environ:
                if mark in environ.read().split(b"\0"):
                    return True
        except OSError:  # another user's, or gone
            continue
    return False
