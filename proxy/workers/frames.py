"""The lead's socket protocol: length-prefixed frames, both ways.

A worker sends a batch as one frame, or as several when it is large: a 4-byte big-endian length,
then the entries as spill records (store/spill.py `record`: the spill file's own encoding, content
sealed when a key is configured, secrets already scrubbed when the entry was built). The lead
answers each frame with one frame of JSON: `{"written": n, "refused": [[index, reason], ...]}`
(indexes into the frame's records), or `{"error": "..."}` when the batch was not written.
Everything read from the socket is bounded: a frame's length is checked before it is read.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import orjson

HEADER = struct.Struct("!I")
# A batch is cut into frames of at most this many bytes; the lead refuses a longer one unread. An
# entry bigger on its own (bodies of tens of MB: store.max_body_bytes raised far) is not passed.
MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # refusal reasons for a frame of records
ERROR, WRITTEN, REFUSED = "error", "written", "refused"


def framed(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def answer(written: int, refused: list[tuple[int, str]]) -> bytes:
    return framed(orjson.dumps({WRITTEN: written, REFUSED: refused}))


def error_answer(reason: str) -> bytes:
    return framed(orjson.dumps({ERROR: reason}))


class BadAnswer(ValueError):
    """The lead's answer is not one this protocol has."""


def read_answer(payload: bytes, records: int) -> tuple[int, list[tuple[int, str]]] | str:
    """(written, [(index, reason)]) from the lead's answer to a frame of `records` records, or the
    lead's error in words. BadAnswer when it is neither."""
    try:
        data: Any = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadAnswer(f"not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get(ERROR), str):
        return str(data[ERROR])
    written, refused = (data.get(WRITTEN), data.get(REFUSED)) if isinstance(data, dict) else (None, None)
    if not isinstance(written, int) or not isinstance(refused, list) or not 0 <= written <= records:
        raise BadAnswer(f"unexpected answer {payload[:200]!r}")
    pairs = []
    for item in refused:
        if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], int)
                or not 0 <= item[0] < records or not isinstance(item[1], str)):
            raise BadAnswer(f"unexpected refusal {item!r}")
        pairs.append((item[0], item[1]))
    return written, pairs


def peer_uid(sock: socket.socket | None) -> int | None:
    """The user of the process at the other end of a Unix socket (Linux SO_PEERCRED); None where
    it cannot be known. The lead turns away other users' workers; a worker hands entries only to a
    lead of its own user."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])
