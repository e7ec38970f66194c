"""The one aiohttp server every adapter will mount its routes on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from sqlalchemy import text

from core.services import Services

log = logging.getLogger(__name__)
SERVICES = web.AppKey("services", Services)

# Adapters register here: each takes the app and mounts its routes when its settings are present.
Mount = Callable[[web.Application], str | None]  # returns the adapter's name, or None


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus a round trip to the database, so a load balancer notices a lost database."""
    services = request.app[SERVICES]
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # report, don't crash: this is what health checks are for
        log.warning("health check failed: %s", error)
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": services.engine.dialect.name})


def build_app(services: Services, mounts: list[Mount] | None = None) -> tuple[web.Application, list[str]]:
    """The application and the names of the adapters that switched themselves on."""
    app = web.Application()
    app[SERVICES] = services
    app.router.add_get("/healthz", healthz)

    async def close_services(_: web.Application) -> None:
        await services.close()

    app.on_cleanup.append(close_services)
    enabled = [name for mount in mounts or [] if (name := mount(app))]
    return app, enabled
