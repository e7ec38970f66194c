"""The one aiohttp server every adapter will mount its routes on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import text

from core.errors import DatabaseUnavailable
from core.services import Services

log = logging.getLogger(__name__)
SERVICES = web.AppKey("services", Services)

# Adapters register here: each takes the app and mounts its routes when its settings are present.
Mount = Callable[[web.Application], str | None]  # returns the adapter's name, or None


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus a round trip to the database, so a load balancer notices a lost database.

    A deleted SQLite file still answers the round trip (the open connection holds it), so its
    identity is checked first.
    """
    services = request.app[SERVICES]
    if services.database_problem() is not None:
        return web.json_response({"status": "error", "database": "file missing or replaced"}, status=503)
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # report, don't crash: this is what health checks are for
        log.warning("health check failed: %s", error)
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": services.engine.dialect.name})


@web.middleware
async def database_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request that needs the lost database gets a 503 saying so, not a 500."""
    try:
        return await handler(request)
    except DatabaseUnavailable as error:
        return web.json_response({"error": error.message, "code": error.code}, status=503)


def build_app(services: Services, mounts: list[Mount] | None = None) -> tuple[web.Application, list[str]]:
    """The application and the names of the adapters that switched themselves on."""
    app = web.Application(middlewares=[database_unavailable])
    app[SERVICES] = services
    app.router.add_get("/healthz", healthz)

    async def close_services(_: web.Application) -> None:
        await services.close()

    app.on_cleanup.append(close_services)
    enabled = [name for mount in mounts or [] if (name := mount(app))]
    return app, enabled
