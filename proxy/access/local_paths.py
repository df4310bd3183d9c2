"""The paths llmlog answers itself (DESIGN §1): never forwarded to a provider, never logged as calls.

A request under one of these that no route serves (a typo, a future route, `POST /v1/logs`) gets a
local 404 or 405; forwarding it would send whatever credential it carries, the logs API key
included, to the provider. Matched without regard to case, so `/V1/Logs` is not a way around.
"""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.access.target import decoded_path
from llmlog.proxy.http_errors import error_response

# The logs API and its seed-compatible routes (DESIGN §6): behind the logs API key, same-origin only.
PROTECTED_PREFIXES = (
    "/v1/logs",
    "/v1/request-logs",
    "/api/v1/llm-logs",
    "/api/v1/statistics",
    "/openapi.json",
)

# Everything else llmlog serves itself: the page, health, metrics.
OPEN_PREFIXES = (
    "/ui",
    "/healthz",
    "/metrics",
    "/favicon.ico",
)

LOCAL_EXACT = frozenset({"/"})


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    low = path.lower()
    if not low.startswith(prefixes):  # one C call for the usual answer, no
        return False
    return any(low == prefix or low.startswith(prefix + "/") for prefix in prefixes)


def is_protected(path: str) -> bool:
    """Whether `path` belongs to the logs API (decoded or raw form: both are checked by callers)."""
    return _under(path, PROTECTED_PREFIXES)


_ALL_PREFIXES = PROTECTED_PREFIXES + OPEN_PREFIXES


def is_local(path: str) -> bool:
    return path in LOCAL_EXACT or _under(path, _ALL_PREFIXES)


def is_local_target(path: str) -> bool:
    """Whether a normalised request path is llmlog's own, as sent or percent-decoded (`%6cogs`)."""
    return is_local(path) or ("%" in path and is_local(decoded_path(path)))


async def answer_locally(request: web.Request) -> web.Response:
    """A request under llmlog's own paths that no route took: 405 when another method is served
    there, else 404, in the API's error shape."""
    shown = request.raw_path.partition("?")[0][:200].encode("utf-8", "backslashreplace").decode()
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        match, methods = await resource.resolve(request)
        if match is None:
            allowed |= methods
    if allowed:
        return error_response(405, f"{request.method} is not served at {shown}; "
                              f"allowed: {', '.join(sorted(allowed))}", headers={"Allow": ", ".join(sorted(allowed))})
    return error_response(404, f"llmlog serves no {shown}")
