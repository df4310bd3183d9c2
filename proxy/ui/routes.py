"""Serving the logs page: `/ui`, `/ui/`, permalinks `/ui/logs/{id}` all get index.html (the page
reads the id from its own URL); assets under `/ui/static/`."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
# The page's own script and style only (its ES modules load from the same origin, which 'self'
# allows); nothing inline, nothing from elsewhere. Images: the page's own and data: URLs (a call's
# base64 images; images.js shows only raster image types). Remote image URLs in a call are links,
# never fetched by the page: loading them would tell the image's host the viewer's address and when
# they looked.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# the page must never be cached stale across upgrades, and never framed by another site
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Content-Security-Policy": CSP}


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers=_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui", index)
    app.router.add_get("/ui/", index)
    app.router.add_get("/ui/logs/{call_id}", index)
    app.router.add_static("/ui/static/", STATIC_DIR, append_version=False)
