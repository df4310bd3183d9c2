"""What one served route is, for /openapi.json: method, path, summary, its parameters and body.
A leaf beside the route modules (it imports no app state), so proxy/state.py can name its type."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmlog.proxy.query.params import Param


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /v1/logs/{call_id}
    summary: str
    params: tuple[Param, ...] = ()
    body: dict | None = None  # JSON schema of the request body
    responses: dict = field(default_factory=lambda: {"200": {"description": "OK"}})
