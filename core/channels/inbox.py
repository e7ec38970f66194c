"""The channels' inbox: deliveries stored as received, claimed by a worker, retried, dead-lettered.

Storing is one ``INSERT … ON CONFLICT DO NOTHING`` on (channel, delivery key), so a channel's
retry of a delivery we have is stored once, whichever process takes it. Claiming works like the
timers (``core.timers.service``): a conditional UPDATE sets a lease, and finishing is conditional
on still holding it, in the same transaction as the order it produced, so a delivery becomes an
order exactly once even when two processes race or one dies mid-way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, delete, or_, select, update

from core.auth import Actor, Permission
from core.channels.models import Channel, ChannelDelivery, DeliveryStatus
from core.context import Context
from core.db import conflicts
from core.events.catalogue import ChannelDeliveryDeadLettered
from core.events.store import record
from core.services import Services

LEASE = timedelta(seconds=60)
KEEP_DONE = timedelta(days=30)
# Waits after the 1st, 2nd, … failed attempt; the last one repeats.
BACKOFF = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
)


class Received(Protocol):
    """A verified delivery as a channel adapter hands it over (``integrations.channels.base.Delivery``)."""

    key: str
    topic: str
    order_key: str | None
    body: bytes
    occurred_at: datetime | None
    headers: Mapping[str, str]


async def store_many(ctx: Context, batches: Sequence[tuple[int, Sequence[Received]]]) -> int:
    """Keep several requests' deliveries, ``(channel id, deliveries)`` each, in one statement (the
    route's group commit); a repeat of a stored key is ignored. Returns how many were new."""
    now = ctx.now()
    heard = sorted({channel_id for channel_id, _ in batches})
    await ctx.session.execute(update(Channel).where(Channel.id.in_(heard)).values(last_delivery_at=now))
    rows = [
        {
            "channel_id": channel_id,
            "key": _bounded_key(d.key),
            "topic": d.topic[:64],
            "order_key": (d.order_key or None) and d.order_key[:128],
            "body": d.body,
            "headers": dict(d.headers),
            "received_at": now,
            "occurred_at": d.occurred_at,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for channel_id, deliveries in batches
        for d in deliveries
    ]
    if not rows:
        return 0
    result = await ctx.session.execute(
        conflicts.insert(ctx, ChannelDelivery).values(rows).on_conflict_do_nothing(index_elements=["channel_id", "key"])
    )
    return max(result.rowcount or 0, 0)


def _bounded_key(key: str) -> str:
    """Keys longer than the column (a WooCommerce composite, say) are kept as their hash."""
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Claimed:
    id: int
    channel_id: int
    topic: str
    body: bytes
    attempts: int
    lease_until: datetime


async def claim_due(services: Services, *, limit: int = 50) -> list[Claimed]:
    async with services.unit_of_work(Actor.system("channels")) as ctx:
        now = ctx.now()
        lease_until = now + LEASE
        due = and_(
            ChannelDelivery.status == DeliveryStatus.PENDING,
            ChannelDelivery.next_attempt_at <= now,
            or_(ChannelDelivery.locked_until.is_(None), ChannelDelivery.locked_until < now),
        )
        ids = select(ChannelDelivery.id).where(due).order_by(ChannelDelivery.id).limit(limit)
        if ctx.session.bind.dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
        rows = await ctx.session.execute(
            update(ChannelDelivery)
            .where(ChannelDelivery.id.in_(ids.scalar_subquery()))
            .values(locked_until=lease_until, attempts=ChannelDelivery.attempts + 1)
            .returning(
                ChannelDelivery.id,
                ChannelDelivery.channel_id,
                ChannelDelivery.topic,
                ChannelDelivery.body,
                ChannelDelivery.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = [Claimed(i, c, t, b, a, lease_until) for i, c, t, b, a in rows]
    return sorted(claimed, key=lambda c: c.id)  # the channel's own order: a create before its update


class LostClaim(Exception):
    """Another process took the delivery over after our lease lapsed: our work is rolled back."""


async def finish(ctx: Context, claimed: Claimed, outcome: str) -> None:
    """Mark the delivery done in the caller's transaction (the one that made its order)."""
    done = await ctx.session.execute(
        update(ChannelDelivery)
        .where(ChannelDelivery.id == claimed.id, ChannelDelivery.locked_until == claimed.lease_until)
        .values(
            status=DeliveryStatus.DONE,
            outcome=outcome[:200],
            processed_at=ctx.now(),
            locked_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise LostClaim()


async def failed(services: Services, claimed: Claimed, error: str, *, permanent: bool = False) -> bool:
    """Try again later, or dead-letter it (and tell an admin); True if it is dead now."""
    async with services.unit_of_work(Actor.system("channels")) as ctx:
        dead = permanent or claimed.attempts >= ctx.settings.channel_max_attempts
        wait = BACKOFF[min(claimed.attempts, len(BACKOFF)) - 1]
        changed = await ctx.session.execute(
            update(ChannelDelivery)
            .where(ChannelDelivery.id == claimed.id, ChannelDelivery.locked_until == claimed.lease_until)
            .values(
                status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
                next_attempt_at=ctx.now() + wait,
                locked_until=None,
                last_error=error[:1000],
            )
            .execution_options(synchronize_session=False)
        )
        if dead and changed.rowcount == 1:
            code = await ctx.session.scalar(select(Channel.code).where(Channel.id == claimed.channel_id))
            record(
                ctx,
                ChannelDeliveryDeadLettered(
                    channel=code or "?",
                    delivery_id=claimed.id,
                    topic=claimed.topic,
                    attempts=claimed.attempts,
                    error=error[:500],
                    at=ctx.now(),
                ),
            )
        return dead and changed.rowcount == 1


async def prune(ctx: Context, keep: timedelta = KEEP_DONE) -> int:
    """Forget deliveries that became orders more than ``keep`` ago: the order keeps what matters,
    and no channel retries a delivery that old (Shopify gives up after 48 hours, WooCommerce after
    5 failures), so its key is no longer needed to recognise a repeat. Dead letters stay for a person."""
    result = await ctx.session.execute(
        delete(ChannelDelivery).where(
            ChannelDelivery.status == DeliveryStatus.DONE, ChannelDelivery.processed_at < ctx.now() - keep
        )
    )
    return result.rowcount


async def retry(ctx: Context, delivery_id: int) -> bool:
    """A person sends a dead letter round again (after fixing what failed)."""
    ctx.actor.require(Permission.MASTER_DATA)
    changed = await ctx.session.execute(
        update(ChannelDelivery)
        .where(ChannelDelivery.id == delivery_id, ChannelDelivery.status == DeliveryStatus.DEAD)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=ctx.now(), last_error=None)
    )
    return changed.rowcount == 1
