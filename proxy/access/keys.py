"""Bearer-key auth for the logs API (DESIGN §6); proxied calls are never affected."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from aiohttp import web

from llmlog.proxy.http_errors import error_response


def _refuse(message: str) -> web.Response:
    return error_response(401, message, headers={"WWW-Authenticate": 'Bearer realm="llmlog"'})


def key_matches(presented: str, keys: Sequence[bytes]) -> bool:
    """Constant-time against every key (no early exit that would time which key nearly matched)."""
    candidate = presented.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


# The header Portkey's SDKs and documented curl calls send their key in (seeds/004), so a Portkey
# client configured with a logs API key works unchanged
PORTKEY_KEY_HEADER = "x-portkey-api-key"


def presented_key(request: web.Request) -> str:
    """The logs API key a request presents, as key_refusal reads it: the bearer token when an
    Authorization header is sent, else the x-portkey-api-key header ("" when neither)."""
    header = request.headers.get("Authorization")
    if not header:
        return request.headers.get(PORTKEY_KEY_HEADER, "").strip()
    return header.partition(" ")[2].strip()


def key_refusal(request: web.Request, keys: Sequence[bytes]) -> web.Response | None:
    """The 401 for a logs-API request without a valid `Authorization: Bearer <key>` (or
    `x-portkey-api-key: <key>`), or None."""
    header = request.headers.get("Authorization")
    if not header and PORTKEY_KEY_HEADER not in request.headers:
        return _refuse("the logs API needs an 'Authorization: Bearer <key>' header")
    scheme, _, token = (header or "").partition(" ")
    if header and (scheme.lower() != "bearer" or not token.strip()):
        return _refuse("the logs API accepts only 'Authorization: Bearer <key>'")
    return None if key_matches(presented_key(request), keys) else _refuse("invalid logs API key")
