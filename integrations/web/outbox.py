"""Runs the outbox dispatcher on the server for every platform adapter that switched itself on.

Adapters mount first and ``register`` their ``PlatformClient``; this mount, placed after them,
starts one dispatcher loop over all of them when the app starts and closes the clients when it
stops. ``wake`` lets an adapter that just queued replies have them sent without waiting for the
next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.outbox.clients import PlatformClient
from bot.outbox.dispatcher import Dispatcher
from integrations.web.app import SERVICES

log = logging.getLogger(__name__)
CLIENTS = web.AppKey("outbox_clients", list)
WAKE = web.AppKey("outbox_wake", asyncio.Event)
POLL_SECONDS = 0.5


def register(app: web.Application, client: PlatformClient) -> None:
    app.setdefault(CLIENTS, []).append(client)


def wake(app: web.Application) -> None:
    if WAKE in app:
        app[WAKE].set()


def mount(app: web.Application) -> None:
    """Not an adapter (returns no name). Without registered clients it does nothing."""
    app[WAKE] = asyncio.Event()

    async def run(app: web.Application) -> AsyncIterator[None]:
        clients: list[PlatformClient] = app.get(CLIENTS, [])
        task = asyncio.create_task(_loop(Dispatcher(app[SERVICES], clients), app[WAKE])) if clients else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in clients:
            close = getattr(client, "close", None)
            if close is not None:
                await close()

    app.cleanup_ctx.append(run)


async def _loop(dispatcher: Dispatcher, woken: asyncio.Event) -> None:
    while True:
        try:
            await dispatcher.run_once()
        except Exception:  # a database hiccup must not stop delivery for good
            log.exception("outbox dispatch failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), POLL_SECONDS)
        woken.clear()
