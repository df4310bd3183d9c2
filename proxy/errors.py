"""One error map at the boundary: every error llmlog itself answers is OpenAI-style JSON."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from store.interface import StoreError

log = logging.getLogger("llmlog.api")

# status -> OpenAI-style error type
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    500: "internal_error",
    502: "upstream_unreachable",
    503: "unavailable",
    504: "upstream_timeout",
}


def error_body(status: int, message: str, param: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": ERROR_TYPES.get(status, "error"), "param": param}})


def error_response(status: int, message: str, *, param: str | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=error_body(status, message, param),
                        content_type="application/json", headers=headers)


class ApiError(Exception):
    """Raised by logs-API code; turned into the JSON error body by the middleware."""

    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


@web.middleware
async def json_errors(request: web.Request, handler):
    """Validation and routing failures of llmlog's own routes become JSON errors, never HTML."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, param=exc.param)
    except StoreError as exc:  # the database is restarting, unreachable or locked: say so, try again later
        log.warning("%s %s: the store is unavailable: %s", request.method, request.path, exc)
        return error_response(503, f"the log store is unavailable ({exc}); try again shortly",
                              headers={"Retry-After": "1"})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason or "error", headers=None)
