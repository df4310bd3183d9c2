"""The one map from errors to HTTP: every error llmlog itself answers is OpenAI-style JSON,
`{"error": {"message", "type", "param"}}`, with the status its class stands for (proxy/errors.py)."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from llmlog.proxy.errors import (
    Conflict,
    LlmlogError,
    NotFound,
    TooLarge,
    UpstreamFailure,
    UpstreamTimeout,
    ValidationError,
)
from llmlog.store.interface import StoreError
from llmlog.store.sealing import SearchOff, UnsealError

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
    429: "rate_limit_error",
    500: "internal_error",
    502: "upstream_unreachable",
    503: "unavailable",
    504: "upstream_timeout",
}
# the first class an error is an instance of gives its status
STATUS_OF: tuple[tuple[type[LlmlogError], int], ...] = (
    (TooLarge, 413),
    (ValidationError, 400),
    (NotFound, 404),
    (Conflict, 409),
    (UpstreamTimeout, 504),
    (UpstreamFailure, 502),
    (LlmlogError, 500),
)


def status_of(exc: LlmlogError) -> int:
    return next(status for cls, status in STATUS_OF if isinstance(exc, cls))


def error_body(status: int, message: str, param: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": ERROR_TYPES.get(status, "error"), "param": param}})


def error_response(status: int, message: str, *, param: str | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=error_body(status, message, param),
                        content_type="application/json", headers=headers)


def response_of(exc: LlmlogError, headers: dict[str, str] | None = None) -> web.Response:
    """The JSON error for one of llmlog's errors: its status, message and parameter."""
    return error_response(status_of(exc), exc.message, param=exc.param, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler):
    """Validation and routing failures of llmlog's own routes become JSON errors, never HTML."""
    try:
        return await handler(request)
    except LlmlogError as exc:
        return response_of(exc)
    except SearchOff as exc:  # a full-text search of content encrypted at rest: refused, saying why
        return error_response(400, str(exc), param="q")
    except UnsealError as exc:  # this entry's content cannot be decrypted: say so, for this entry only
        log.error("%s %s: %s", request.method, request.path, exc)
        return error_response(500, str(exc))
    except StoreError as exc:  # the database is restarting, unreachable or locked: say so, try again later
        log.warning("%s %s: the store is unavailable: %s", request.method, request.path, exc)
        return error_response(503, f"the log store is unavailable ({exc}); try again shortly",
                              headers={"Retry-After": "1"})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason or "error", headers=None)
