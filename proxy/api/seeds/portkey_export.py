"""Portkey's logs export (seeds/004) over llmlog's export jobs (proxy/api/export.py, whose routes
are Portkey's paths): what a create body may carry beyond filters and fields, and the job and
download answers in Portkey's field names. Pure: bodies and rows in, values and dicts out."""

from __future__ import annotations

from typing import Any

from llmlog.proxy.errors import ValidationError
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.store.batches import RowWindow

# What a create body may carry beside `filters`, `requested_data` and llmlog's `fields`/`format`:
# Portkey's optional workspace id (llmlog has one workspace: kept and echoed) and description,
# and its "Logs Limits: maximum number of logs or a custom offset"
OPTION_KEYS = ("workspace_id", "description", "limit", "offset")
MAX_ROWS = 10**12
MAX_TEXT = 1000


def job_options(body: dict[str, Any]) -> dict[str, Any]:
    """The options in a create body, checked; errors name the key."""
    options: dict[str, Any] = {}
    for key in ("workspace_id", "description"):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValidationError(f"{key} must be a string of at most {MAX_TEXT} characters", key)
        options[key] = value
    for key, least in (("limit", 1), ("offset", 0)):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_ROWS:
            raise ValidationError(f"{key} must be a whole number from {least} to {MAX_ROWS}, got {value!r}", key)
        options[key] = value
    return options


def row_window(options: dict[str, Any]) -> RowWindow:
    """The rows a job writes, of those its filters match, oldest first."""
    return RowWindow(offset=options.get("offset", 0), limit=options.get("limit"))


def portkey_job_fields(job: dict[str, Any], requested: list[str]) -> dict[str, Any]:
    """The fields Portkey's job answers carry that llmlog's own do not (seeds/004 and its SDK's
    `retrieve`): added to the job, never replacing a field."""
    options = job["options"]
    return {
        "requested_data": requested,
        "description": options.get("description"),
        "workspace_id": options.get("workspace_id"),
        "limit": options.get("limit"),
        "offset": options.get("offset", 0),
        "last_updated_at": iso_ms(job["updated_at"]),
    }


def download_answer(url: str, expires_s: int | None) -> dict[str, Any]:
    """`GET …/{id}/download`: the document reads `.url`, Portkey's API reference names it
    `signed_url`; both, and when the URL stops working (null: it does not, no key is configured)."""
    return {"url": url, "signed_url": url,
            "expires_at": iso_ms(expires_s * 1000) if expires_s is not None else None}
