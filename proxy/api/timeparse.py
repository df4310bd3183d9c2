"""Parsing and formatting the API's times: ISO 8601 or relative (`-24h`, `-7d`), always UTC. Pure."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from store.filters import MAX_SQL_INT

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_time(text: str, now_ms: int) -> int:
    """UTC epoch ms for an ISO 8601 time (naive means UTC), `now`, or a relative `-N[smhdw]`."""
    text = text.strip()
    if text.lower() == "now":
        return now_ms
    match = _RELATIVE.match(text.lower())
    if match:
        value = now_ms - int(float(match.group(1)) * _UNIT_MS[match.group(2)])
        if value < -MAX_SQL_INT:  # would not fit a SQLite integer
            raise ValueError(text)
        return value
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def parse_duration_ms(text: str) -> int:
    """`30d`, `12h`, `90m`, `2w` → milliseconds (for `--older-than`, `--since`)."""
    match = re.match(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$", text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h or 90m")
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


def iso_ms(epoch_ms: int | float | None) -> str | None:
    """UTC ISO 8601 with milliseconds and `Z`."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
