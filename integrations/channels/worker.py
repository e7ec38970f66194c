"""Turns stored channel deliveries into orders, after the channel has had its answer.

Each claimed delivery is read by its kind (fetching from the channel's API first where the push
names only an id: Douyin), outside any transaction, so a slow channel API holds no database lock.
Its orders are then taken in (``core.channels.intake``) and the delivery marked done in ONE
transaction. A failure is retried with backoff (``core.channels.inbox.BACKOFF``); a refusal that
no retry can change (a ``DomainError``: an order with no lines, a quantity beyond the bounds) is
dead-lettered at once, as is a body the kind cannot read (``Malformed``); an admin is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import ClientSession
from sqlalchemy import select

from core.auth import Actor
from core.channels import inbox, intake
from core.channels.models import Channel
from core.errors import DatabaseUnavailable, DomainError
from core.services import Services
from integrations.channels.base import Malformed
from integrations.channels.config import config_for
from integrations.channels.group_commit import InboxWriter
from integrations.channels.kinds import KINDS

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class Worker:
    def __init__(self, services: Services, http: ClientSession, writer: InboxWriter | None = None) -> None:
        self.services, self.http, self.writer = services, http, writer
        self.woken = asyncio.Event()

    def wake(self) -> None:
        self.woken.set()

    async def run_once(self) -> int:
        """Work through every due delivery; returns how many were finished or failed."""
        worked = 0
        while batch := await inbox.claim_due(self.services):
            channels = await self._channels({c.channel_id for c in batch})
            for claimed in batch:
                await self._work(channels[claimed.channel_id], claimed)
                worked += 1
        return worked

    async def _channels(self, ids: set[int]) -> dict[int, Channel]:
        async with self.services.reading() as session:
            return {c.id: c for c in await session.scalars(select(Channel).where(Channel.id.in_(ids)))}

    async def _work(self, channel: Channel, claimed: inbox.Claimed) -> None:
        config = config_for(channel, self.services.settings)
        try:
            orders = await KINDS[channel.kind].orders(config, claimed.topic, claimed.body, self.http)
            if self.writer is not None:  # deliveries being acknowledged take the database first
                await self.writer.quiet()

            async def take_all(ctx) -> str:  # type: ignore[no-untyped-def]
                outcomes = [str(await intake.take(ctx, channel, order)) for order in orders]
                summary = ", ".join(outcomes) or "no order in it"
                await inbox.finish(ctx, claimed, summary)
                return summary

            summary = await self.services.run(Actor.system(f"channel:{channel.code}"), take_all)
            log.info("channel %s delivery %s: %s", channel.code, claimed.id, summary)
        except inbox.LostClaim:
            log.warning("channel %s delivery %s was taken over by another process", channel.code, claimed.id)
        except DatabaseUnavailable:
            raise
        except DomainError as error:  # the same bytes will be refused the same way next time
            log.warning("channel %s delivery %s refused: %s", channel.code, claimed.id, error.message)
            await inbox.failed(self.services, claimed, f"{error.code}: {error.message}", permanent=True)
        except Malformed as error:  # not the shape the channel sends: no retry reads it differently
            log.warning("channel %s delivery %s is malformed: %s", channel.code, claimed.id, error)
            await inbox.failed(self.services, claimed, f"malformed: {error}", permanent=True)
        except Exception as error:
            log.exception("channel %s delivery %s failed (attempt %s)", channel.code, claimed.id, claimed.attempts)
            await inbox.failed(self.services, claimed, f"{type(error).__name__}: {error}")


async def loop(worker: Worker, stopping: asyncio.Event, on_work: Callable[[], None] | None = None) -> None:
    while not stopping.is_set():
        try:
            if await worker.run_once() and on_work is not None:
                on_work()
        except DatabaseUnavailable:
            pass  # logged once by Services; /healthz says so
        except Exception:  # a database hiccup must not stop intake for good
            log.exception("channel worker failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.woken.wait(), POLL_SECONDS)
        worker.woken.clear()
