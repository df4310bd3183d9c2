"""An export job as every backend stores it: its columns, how its JSON fields are kept, and the
reasons a job fails that the API shows. Statuses follow Portkey's log export (draft → running →
success | failure); times are UTC epoch ms. Pure."""

from __future__ import annotations

from typing import Any

import orjson

from .rows import Row

INTERRUPTED = "interrupted by restart"
WITHDRAWN = "export file removed because a user's calls were erased; start the job again"
WITHDRAWN_RUNNING = "stopped because a user's calls were erased while it ran; start the job again"
EXPIRED = "export file removed by retention: it held calls older than the cutoff; start the job again"
JOB_COLUMNS = ("id", "created_at", "status", "format", "fields", "filters", "path", "rows", "error", "updated_at",
               "options")


def job_of(row: tuple[Any, ...]) -> Row:
    """A stored row (JOB_COLUMNS order) as the job the interface returns."""
    job = dict(zip(JOB_COLUMNS, row, strict=True))
    job["fields"] = orjson.loads(job["fields"]) if job["fields"] else None
    job["filters"] = orjson.loads(job["filters"])
    job["options"] = orjson.loads(job["options"]) if job["options"] else {}
    return job


def stored_json(fields: list[str] | None, filters: dict[str, Any],
                options: dict[str, Any] | None = None) -> tuple[str | None, str, str | None]:
    """(fields, filters, options) as the text columns keep them."""
    return ((orjson.dumps(fields).decode() if fields is not None else None), orjson.dumps(filters).decode(),
            orjson.dumps(options).decode() if options else None)
