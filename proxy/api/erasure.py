"""`DELETE /v1/logs/user/{user_id}`: erase an end user's calls, content and search rows (DESIGN §6)."""

from __future__ import annotations

from aiohttp import web

from llmlog.proxy.api.openapi import describe
from llmlog.proxy.api.operation import Operation
from llmlog.proxy.api.respond import json_response
from llmlog.proxy.query.params import Query
from llmlog.proxy.state import JOBS, PIPELINE, WRITER


async def delete_user_logs(request: web.Request) -> web.Response:
    Query(request.query, ())
    user_id = request.match_info["user_id"]
    # calls of this user still queued must land first, or they would survive the erasure
    await request.app[PIPELINE].flush()
    running_before = set(request.app[JOBS].running)
    deleted = await request.app[WRITER].run(lambda store: store.delete_user(user_id))
    if deleted:  # exports running before the erasure were withdrawn by it: stop them, their files go
        await request.app[JOBS].stop_all(only=running_before)
    return json_response({"user_id": user_id, "deleted": deleted})


def add_routes(app: web.Application) -> None:
    app.router.add_delete("/v1/logs/user/{user_id}", delete_user_logs)
    describe(app, Operation("DELETE", "/v1/logs/user/{user_id}",
                            "Erase an end user's calls, content and search rows; returns the count."))
