"""Parsing and formatting the API's times: ISO 8601 or relative (`-24h`, `-7d`), always UTC. Pure."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import overload

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# The times a Python datetime can hold in UTC (year 1 to 9999), as epoch ms: every time the API
# accepts is in this range, so formatting it back (iso_ms) and storing it (int64) always work.
MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC) - _EPOCH) // _MS


class TimeRangeError(ValueError):
    """A well-formed time outside MIN_MS..MAX_MS (years 1 to 9999 UTC, offsets applied)."""


def representable(ms: int) -> bool:
    return MIN_MS <= ms <= MAX_MS


def _checked(ms: int, text: str) -> int:
    if not representable(ms):
        raise TimeRangeError(text)
    return ms


def parse_time(text: str, now_ms: int) -> int:
    """UTC epoch ms for an ISO 8601 time (naive means UTC), `now`, or a relative `-N[smhdw]`.

    ValueError for anything else; TimeRangeError (a ValueError) for a time before year 1 or after
    year 9999 in UTC, e.g. `9999-12-31T23:59:59-12:00`."""
    text = text.strip()
    if text.lower() == "now":
        return now_ms
    match = _RELATIVE.match(text.lower())
    if match:
        back = float(match.group(1)) * _UNIT_MS[match.group(2)]
        if not math.isfinite(back):  # hundreds of digits
            raise TimeRangeError(text)
        return _checked(now_ms - int(back), text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # exact integer arithmetic: a float timestamp loses the millisecond near year 9999
    return _checked((parsed - _EPOCH) // _MS, text)


def parse_duration_ms(text: str) -> int:
    """`30d`, `12h`, `90m`, `2w` → milliseconds (for `--older-than`, `--since`)."""
    match = re.match(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$", text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h or 90m")
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


@overload
def iso_ms(epoch_ms: int | float) -> str: ...
@overload
def iso_ms(epoch_ms: None) -> None: ...
@overload
def iso_ms(epoch_ms: int | float | None) -> str | None: ...
def iso_ms(epoch_ms: int | float | None) -> str | None:
    """UTC ISO 8601 with milliseconds and `Z`; the year always has four digits (`0001-…`)."""
    if epoch_ms is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def now_ms() -> int:
    """The clock every query's relative times and windows are read against."""
    return int(time.time() * 1000)
