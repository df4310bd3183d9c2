"""The ideal pass-through: the least a Python aiohttp proxy can do, as the practical limit.

Bytes stream through unchanged with one shared ClientSession; no capture, no ids, no logging.
Run: `python -m bench.ideal PORT UPSTREAM_URL`.
"""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web

from .common import HOP_BY_HOP, maybe_uvloop, raise_fd_limit

SESSION = web.AppKey("session", aiohttp.ClientSession)


def make_app(upstream: str) -> web.Application:
    async def session_ctx(app: web.Application):
        app[SESSION] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"), cookie_jar=aiohttp.DummyCookieJar())
        yield
        await app[SESSION].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        async with request.app[SESSION].request(request.method, upstream + request.raw_path, headers=headers,
                                                data=body or None, allow_redirects=False) as up:
            response = web.StreamResponse(status=up.status, reason=up.reason)
            for name, value in up.headers.items():
                if name.lower() not in HOP_BY_HOP or name.lower() == "content-length":
                    response.headers.add(name, value)
            await response.prepare(request)
            async for chunk in up.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(session_ctx)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


if __name__ == "__main__":
    raise_fd_limit()
    maybe_uvloop()
    web.run_app(make_app(sys.argv[2].rstrip("/")), host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
                print=None, handler_cancellation=True, backlog=4096)
