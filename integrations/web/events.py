"""Mounts the event dispatcher on the server: committed domain events are delivered from here,
whoever recorded them (a chat platform, the CLI, a webhook, a timer) and whether or not the
console is mounted.

A chat request delivers what it recorded at once (in its turn, ``bot.gateway``); this loop picks
up the rest within ``POLL_SECONDS``. ``on_delivered`` lets a part of the server hear that something was
delivered (the console wakes its live streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot.events.dispatcher import deliver_pending
from core.services import Services
from integrations.web.app import SERVICES

log = logging.getLogger(__name__)
HOOKS = web.AppKey("events_on_delivered", list)
POLL_SECONDS = 0.5


def on_delivered(app: web.Application, hook: Callable[[], None]) -> None:
    """Call ``hook`` after each round that delivered something (any mount order)."""
    app.setdefault(HOOKS, []).append(hook)


def mount(app: web.Application) -> None:
    """Not an adapter: it returns no name, so ``oms serve`` lists only the platforms."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_loop(app[SERVICES], app.get(HOOKS, [])))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(run)


async def _loop(services: Services, hooks: list[Callable[[], None]]) -> None:
    while True:
        try:
            if await deliver_pending(services):
                for hook in hooks:
                    hook()
        except Exception:  # a database hiccup must not stop delivery for good
            log.exception("delivering events failed; trying again")
        await asyncio.sleep(POLL_SECONDS)
