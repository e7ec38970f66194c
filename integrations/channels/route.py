"""``POST /webhooks/channels/<code>``: verify the raw bytes, store them, answer; work comes later.

Everything a channel waits for happens before the answer and nothing else does: the signature
is checked over the exact bytes received, the delivery is committed to the inbox (a repeat of a
stored delivery key is a no-op; requests arriving together share one commit), and the channel
gets the exact answer it expects. A forged or stale request gets 401 and leaves nothing behind
but a log line; an unknown channel gets 404. The worker (``worker.py``) and the reconciliation
poll (``poll.py``) are started here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy import select

from core.channels.models import Channel
from core.services import Services
from integrations.channels.base import ChannelConfig, Forged, Stale
from integrations.channels.config import config_for
from integrations.channels.group_commit import InboxWriter
from integrations.channels.kinds import KINDS
from integrations.channels.poll import poll_due
from integrations.channels.worker import Worker, loop
from integrations.web.app import SERVICES
from integrations.web.body import BadBody, read

log = logging.getLogger(__name__)
WORKER = web.AppKey("channel_worker", Worker)
WRITER = web.AppKey("channel_inbox_writer", InboxWriter)
POLL_EVERY_SECONDS = 30.0
DIRECTORY_SECONDS = 5.0  # how long a channel's row is trusted before it is read again
API_TIMEOUT = ClientTimeout(total=30)
STOP_SECONDS = 5.0


@dataclass(frozen=True)
class Known:
    channel_id: int
    config: ChannelConfig


class Directory:
    """The active channels by code, read at most every few seconds rather than once a request:
    a flash sale sends thousands of deliveries a minute, and the answer is waited for."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.read_at = float("-inf")
        self.channels: dict[str, Known] = {}

    async def get(self, code: str) -> Known | None:
        if time.monotonic() - self.read_at > DIRECTORY_SECONDS:
            async with self.services.reading() as session:
                rows = await session.scalars(select(Channel).where(Channel.active.is_(True)))
                self.channels = {c.code: Known(c.id, config_for(c, self.services.settings)) for c in rows}
            self.read_at = time.monotonic()
        return self.channels.get(code)


DIRECTORY = web.AppKey("channel_directory", Directory)


async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    code = request.match_info["code"].strip().upper()
    known = await request.app[DIRECTORY].get(code)
    if known is None:
        return web.json_response({"error": f"no sales channel {code}"}, status=404)
    channel = known.config
    if not channel.secret:
        log.warning("channel %s: refused a delivery, OMS_CHANNEL_%s_SECRET is not set", code, code)
        return web.json_response({"error": "this channel has no secret configured"}, status=401)
    try:
        body = await read(request, max_bytes=services.settings.max_webhook_body_bytes)
    except BadBody as bad:
        return web.json_response({"error": bad.message}, status=bad.status)
    try:
        verified = KINDS[channel.kind].verify(channel, request.headers, body, services.clock())
    except (Forged, Stale) as refused:
        log.warning("channel %s: refused a %s delivery from %s", code, type(refused).__name__.lower(), request.remote)
        return web.json_response({"error": "signature not valid"}, status=401)
    except ValueError as misconfigured:  # our side: a secret of the wrong form (a Standard key without whsec_)
        log.error("channel %s: cannot check deliveries, its secret is not usable: %s", code, misconfigured)
        return web.json_response({"error": "this channel is misconfigured on our side"}, status=500)
    if verified.deliveries:
        await request.app[WRITER].store(known.channel_id, verified.deliveries)
        request.app[WORKER].wake()
    ack = verified.ack
    return web.Response(status=ack.status, body=ack.body, content_type=ack.content_type)


def mount(app: web.Application) -> None:
    """Not an adapter (returns no name): the route is always there; a channel exists once it is in
    the master data, and ``oms serve`` lists them."""
    app.router.add_post("/webhooks/channels/{code}", receive)

    async def run(app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        http = ClientSession(timeout=API_TIMEOUT)
        app[DIRECTORY] = Directory(services)
        app[WRITER] = InboxWriter(services)
        worker = app[WORKER] = Worker(services, http, app[WRITER])
        stopping = asyncio.Event()
        tasks = [asyncio.create_task(loop(worker, stopping)), asyncio.create_task(_polls(services, http, stopping))]
        yield
        stopping.set()
        worker.wake()
        # Let the order being taken in finish (it would be retried after a restart, but why wait).
        _, late = await asyncio.wait(tasks, timeout=STOP_SECONDS)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await http.close()

    app.cleanup_ctx.append(run)


async def _polls(services: Services, http: ClientSession, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await poll_due(services, http)
        except Exception:
            log.exception("channel polls failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), POLL_EVERY_SECONDS)
