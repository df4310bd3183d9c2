"""/openapi.json describes every route the app serves and every parameter each one accepts."""

from __future__ import annotations

import re

from llmlog.proxy.state import OPERATIONS
from llmlog.store.filters import encode_cursor

SAMPLE_BY_TYPE = {"integer": "1", "number": "0.5", "boolean": "true"}
SAMPLE_BY_NAME = {"start_date": "-1d", "from": "-1d", "start_time": "-1d", "end_date": "now", "to": "now",
                  "end_time": "now", "sort_by": "cost", "order_by": "duration_ms", "sort_order": "asc",
                  "order_direction": "asc", "status": "success", "statuses": "success", "limit": "5",
                  "page_size": "5", "group_by": "model", "metric": "cost", "format": "jsonl", "compare": "previous",
                  "types": "message", "fields": "id", "status_code": "200", "pii": "email,card",
                  "period": "1.00:00:00", "resolution": "Hour",
                  "cursor": encode_cursor("timestamp", True, 0, "0"),
                  "page_token": encode_cursor("timestamp", True, 0, "0")}


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if not path or route.method == "HEAD" or path == "/{tail}" or path.startswith("/ui"):
            continue
        routes.add((route.method, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return routes


async def test_every_served_route_is_described(proxy):
    doc = await (await proxy.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served_routes(proxy.app) == described


async def test_every_described_parameter_is_accepted_and_unknown_ones_refused(proxy):
    for op in proxy.app[OPERATIONS]:
        if op.method != "GET" or "{" in op.path:
            continue
        names = [n for p in op.params for n in (p.name, *p.aliases)]
        required = {p.name: SAMPLE_BY_NAME.get(p.name, "x") for p in op.params if p.required}
        for name in names:
            kind = {"int": "integer", "int_list": "integer", "float": "number", "cost": "number", "score": "number",
                    "bool": "boolean"}.get(
                next(p.kind for p in op.params if name in (p.name, *p.aliases)), "string")
            value = SAMPLE_BY_NAME.get(name, SAMPLE_BY_TYPE.get(kind, "x"))
            resp = await proxy.get(op.path, params={**required, name: value})
            assert resp.status < 400, (op.path, name, await resp.text())
            await resp.read()
        if op.path.startswith(("/v1/logs", "/v1/request-logs")):
            resp = await proxy.get(op.path, params={**required, "no_such_param": "1"})
            assert resp.status == 400, op.path
            assert (await resp.json())["error"]["param"] == "no_such_param"
