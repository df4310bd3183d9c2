"""What the bench processes share: CPU pinning, fd limits, ports, /proc readings."""

from __future__ import annotations

import os
import resource
import socket
import time

# Two cores: proxies on one, load generator + fake upstream on the other (issue 7).
PROXY_CORE, LOAD_CORE = 0, 1
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                        "transfer-encoding", "upgrade", "host", "content-length"})


_CORES = sorted(os.sched_getaffinity(0))  # read once, before the orchestrator pins itself


def cores() -> list[int]:
    return list(_CORES)


def pin(pid: int, core: int) -> None:
    """Pin a process to one core when the machine has it; a 1-core box just shares."""
    available = cores()
    os.sched_setaffinity(pid, {core if core in available else available[0]})


def raise_fd_limit() -> None:
    """1,000 held streams need ~2,000 sockets in a proxy; children inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident set size from /proc/<pid>/status (VmRSS, KiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process, all its threads (ended ones too), to the nanosecond: its CPU clock
    (Linux's clock_getcpuclockid(pid), which Python does not expose: `((~pid) << 3) | CPUCLOCK_SCHED`).
    /proc/<pid>/stat counts in 10 ms ticks, too coarse for a few dozen streams; it is the fallback."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """User + system CPU time of each of a process's threads so far, summed by thread name (the
    OS name: llmlog names its store threads, store/runner.py; the rest show the process's name)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                raw = stat.read()
        except OSError:  # the thread ended meanwhile
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw.rpartition(")")[2].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def maybe_uvloop() -> None:
    """Install uvloop's policy when LLMLOG_UVLOOP=1 (set by `bench.run --uvloop`)."""
    if os.environ.get("LLMLOG_UVLOOP") == "1":
        import asyncio

        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
