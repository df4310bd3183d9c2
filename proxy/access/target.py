"""The request target sent upstream, normalised (RFC 3986 §5.2.4); pure.

A client's `//host/x`, `/a/../b`, `/a/%2e%2e/b` or absolute-form `http://host/x` must not reach the
provider as sent: an upstream or a proxy before it may read them differently from llmlog's routing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_SLASHES = re.compile(r"/{2,}")
_DOT = frozenset({".", "%2e"})
_DOT_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


def split_target(raw_target: str) -> tuple[str, str]:
    """(path, query) of a request target in origin form or absolute form, as sent (not decoded)."""
    if not raw_target.startswith("/"):  # absolute form: the path and query of the URL
        parts = urlsplit(raw_target)
        return parts.path or "/", parts.query
    path, _, query = raw_target.partition("?")
    return path, query


def normalised_path(path: str) -> str:
    """Empty segments collapsed, `.` and `..` (also percent-encoded) resolved, never above the root."""
    if "//" not in path and "/." not in path and "%2" not in path:
        return path  # the usual case: nothing to resolve
    out: list[str] = []
    segments = _SLASHES.sub("/", path).split("/")[1:]
    for index, segment in enumerate(segments):
        low = segment.lower()
        last = index == len(segments) - 1
        if low in _DOT:
            if last:
                out.append("")
        elif low in _DOT_DOT:
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def decoded_path(path: str) -> str:
    """The normalised path as routing sees it: percent-decoded (so `%2f` is a slash), normalised again."""
    return normalised_path(unquote(path, errors="surrogateescape"))
