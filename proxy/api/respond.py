"""What every logs API handler shares: JSON out, a size-capped JSON object in, the 404 for an unknown id."""

from __future__ import annotations

import orjson
from aiohttp import web

from llmlog.proxy.errors import NotFound, TooLarge, ValidationError


def json_response(payload, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


async def json_object(request: web.Request, limit: int, *, empty: dict | None = None) -> dict:
    """The request body as a JSON object, read with a size cap (413 beyond it); an empty body is
    `empty` when given, else a 400 like any body that is not a JSON object."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"request body is larger than {limit} bytes", "body")
    raw = b""
    while chunk := await request.content.read(limit + 1 - len(raw)):  # a body may arrive in pieces
        raw += chunk
        if len(raw) > limit:
            raise TooLarge(f"request body is larger than {limit} bytes", "body")
    if not raw.strip() and empty is not None:
        return dict(empty)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationError("request body must be a JSON object", "body") from None
    if not isinstance(body, dict):
        raise ValidationError("request body must be a JSON object", "body")
    return body


def not_found(call_id: str) -> NotFound:
    return NotFound(f"no log entry with id {call_id!r}", "id")
