"""Rules about claims that every backend shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .interface import Store


def export_claim(job_id: str) -> str:
    """The claim a process holds while it runs export job `job_id` (see Store.try_exclusive)."""
    return f"export-{job_id}"


def fail_unclaimed(store: Store, running: Iterable[str], fail: Callable[[str], int]) -> int:
    """`fail(job_id)` for each running job no process holds the claim of (its process is gone);
    a job another replica is running is left alone. Returns the jobs failed."""
    failed = 0
    for job_id in running:
        claim = export_claim(job_id)
        if store.try_exclusive(claim):
            try:
                failed += fail(job_id)
            finally:
                store.release_exclusive(claim)
    return failed
