"""Sampling a running server with py-spy while a load runs; ranks frames by self time."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys


def _py_spy() -> str | None:
    local = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return local if os.path.exists(local) else shutil.which("py-spy")


def profile_during(pid: int, out_path: str, load, duration_s: int = 7) -> dict | None:
    """Record `pid` with py-spy (raw collapsed stacks) while `load()` runs; None when py-spy is absent."""
    exe = _py_spy()
    if exe is None:
        return None
    spy = subprocess.Popen([exe, "record", "-p", str(pid), "-d", str(duration_s), "-r", "200", "-f", "raw",
                            "-o", out_path, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load()
    spy.wait(60)
    return summarise_collapsed(out_path)


def summarise_collapsed(path: str) -> dict:
    """Self and inclusive sample shares per frame, from py-spy's `-f raw` output (event-loop thread only)."""
    self_time, inclusive, total = collections.Counter(), collections.Counter(), 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack or "_worker (concurrent/futures" in stack:  # the SQLite writer/reader threads
                continue
            n = int(count)
            frames = stack.split(";")
            total += n
            self_time[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n

    def rank(c: collections.Counter) -> list[dict]:
        return [{"frame": k, "share": v / total} for k, v in c.most_common(40)]

    return {"samples": total, "top_self": rank(self_time), "top_inclusive": rank(inclusive), "raw": path}
