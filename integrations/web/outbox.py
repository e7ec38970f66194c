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
from core.errors import DatabaseUnavailable
from integrations.web.app import SERVICES

log = logging.getLogger(__name__)
CLIENTS = web.AppKey("outbox_clients", list)
WAKE = web.AppKey("outbox_wake", asyncio.Event)
POLL_SECONDS = 0.5
STOP_SECONDS = 10.0  # on shutdown, how long sends in flight may take


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
        stopping = asyncio.Event()
        dispatcher = Dispatcher(app[SERVICES], clients)
        task = asyncio.create_task(_loop(dispatcher, app[WAKE], stopping)) if clients else None
        yield
        if task is not None:
            # Let the sends in flight finish: one cut off mid-request would go again after the
            # restart, and the platform may already have shown it.
            stopping.set()
            app[WAKE].set()
            try:
                await asyncio.wait_for(task, STOP_SECONDS)
            except TimeoutError:
                log.warning("outbox: sends still in flight after %.0f s were cut off", STOP_SECONDS)
        for client in clients:
            close = getattr(client, "close", None)
            if close is not None:
                await close()

    app.cleanup_ctx.append(run)


async def _loop(dispatcher: Dispatcher, woken: asyncio.Event, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await dispatcher.run_once()
        except DatabaseUnavailable:
            pass  # the file is gone: Services logged it once and /healthz says so; no traceback per poll
        except Exception:  # a database hiccup must not stop delivery for good
            log.exception("outbox dispatch failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), POLL_SECONDS)
        woken.clear()
