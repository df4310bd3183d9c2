"""Bearer-key auth for the logs API (DESIGN §6); proxied calls are never affected."""

from __future__ import annotations

import hmac
from typing import Sequence

from aiohttp import web

from ..errors import error_response

PROTECTED_PREFIX = "/v1/logs"
PROTECTED_EXACT = frozenset({"/openapi.json"})


def is_protected(path: str) -> bool:
    return path in PROTECTED_EXACT or path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def _refuse(message: str) -> web.Response:
    return error_response(401, message, headers={"WWW-Authenticate": 'Bearer realm="llmlog"'})


def key_matches(presented: str, keys: Sequence[bytes]) -> bool:
    """Constant-time against every key (no early exit that would time which key nearly matched)."""
    candidate = presented.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


def require_key(api_keys: Sequence[str]):
    """A middleware demanding `Authorization: Bearer <key>` on the logs API, or a no-op without keys."""
    keys = [k.encode() for k in api_keys if k]

    @web.middleware
    async def logs_api_auth(request: web.Request, handler):
        if not keys or not is_protected(request.path):
            return await handler(request)
        header = request.headers.get("Authorization")
        if not header:
            return _refuse("the logs API needs an 'Authorization: Bearer <key>' header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _refuse("the logs API accepts only 'Authorization: Bearer <key>'")
        if not key_matches(token.strip(), keys):
            return _refuse("invalid logs API key")
        return await handler(request)

    return logs_api_auth
