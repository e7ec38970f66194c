"""``/api/docs``: the OpenAPI document rendered by Swagger UI, served from the ``swagger-ui-bundle``
package's own copy of its static files, so the page works with no internet access."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).resolve().parent / "static"


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "docs.html")


async def script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "docs.js")


def mount(app: web.Application) -> None:
    app.router.add_get("/api/docs", page)
    app.router.add_get("/api/docs/docs.js", script)
    app.router.add_static("/api/docs/ui", Path(str(swagger_ui_path)))
