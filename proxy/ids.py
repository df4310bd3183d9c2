"""Time-sortable ids for calls and export jobs: 48-bit milliseconds + 80 random bits, Crockford base32 (ULID layout)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_call_id(now_ms: int | None = None) -> str:
    """A 26-character id whose lexical order follows creation time (to the millisecond)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
