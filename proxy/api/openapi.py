"""`GET /openapi.json`: an OpenAPI 3.1 document of the logs API, built from the same Param tables
the handlers validate with, so the description cannot drift from what is served."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.query.params import Param
from llmlog.proxy.state import OPERATIONS

_SCHEMA_OF_KIND: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "list": {"type": "string", "description": "comma list; the parameter may also repeat"},
    "int_list": {"type": "string", "description": "comma list of integers; may repeat"},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "cost": {"type": "number", "minimum": 0},
    "score": {"type": "number"},
    "bool": {"type": "boolean"},
    "time": {"type": "string", "description": "ISO 8601 (UTC when no offset) or relative: -30m, -24h, -7d"},
}


def describe(app: web.Application, *operations: Operation) -> None:
    """Route modules call this beside `add_route`, so each served route carries its description."""
    app.setdefault(OPERATIONS, [])
    app[OPERATIONS].extend(operations)


def _path_params(path: str) -> list[dict]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def _query_params(params: tuple[Param, ...]) -> list[dict]:
    out = []
    for p in params:
        schema = dict(_SCHEMA_OF_KIND.get(p.kind, {"type": "string"}))
        description = " ".join(x for x in (p.help, schema.pop("description", "")) if x)
        out.append({"name": p.name, "in": "query", "required": p.required, "schema": schema,
                    "description": description})
        for alias in p.aliases:
            out.append({"name": alias, "in": "query", "required": False, "schema": schema,
                        "description": f"alias of `{p.name}`"})
    return out


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]}}}},
}


def build_document(operations: list[Operation]) -> dict:
    paths: dict[str, dict] = {}
    for op in operations:
        name = op.path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
        entry = {
            "summary": op.summary,
            "operationId": f"{op.method.lower()}_{name}",
            "parameters": _path_params(op.path) + _query_params(op.params),
            "responses": {**op.responses,
                          "400": {"description": "invalid parameter",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                          "401": {"description": "logs API key required"}},
        }
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "llmlog logs API", "version": "1",
                 "description": "Query, aggregate, export and erase the calls llmlog has logged."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
    }


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(build_document(request.app.get(OPERATIONS, [])))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json)
    describe(app, Operation("GET", "/openapi.json", "This document."))
