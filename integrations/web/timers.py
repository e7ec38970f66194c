"""Mounts the timer loop on the server: it starts with the app and stops before the database closes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot import scheduler
from bot.workflows import digest
from core.shipping import stalls
from integrations.web.app import SERVICES


def mount(app: web.Application) -> None:
    """Not an adapter: it returns no name, so ``oms serve`` lists only the platforms."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        await digest.ensure_scheduled(app[SERVICES])
        await stalls.ensure_scheduled(app[SERVICES])
        running = scheduler.start(app[SERVICES])
        yield
        running.shutdown(wait=False)

    app.cleanup_ctx.append(run)
