"""The reconciliation schedule of each channel, kept on its row so it survives restarts.

Webhooks get lost (WooCommerce disables a webhook after 5 failures, Shopify deletes one after 8),
so every channel with ``poll_minutes`` is asked now and then for the orders changed since its
cursor. A process claims a due channel with a conditional UPDATE (a lease, as timers do), polls
without holding any transaction, then moves the cursor only if every order found was taken in.
The cursor overlaps the previous window a little: a repeat costs nothing (intake is idempotent),
a gap would cost an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from core.auth import Actor, Permission
from core.channels.models import Channel
from core.context import Context
from core.services import Services

LEASE = timedelta(minutes=5)
OVERLAP = timedelta(minutes=2)
FIRST_WINDOW = timedelta(hours=1)  # a channel never polled looks this far back


@dataclass(frozen=True)
class DuePoll:
    channel: Channel
    since: datetime
    started_at: datetime
    lease_until: datetime


async def claim_due(services: Services) -> list[DuePoll]:
    async with services.unit_of_work(Actor.system("channels")) as ctx:
        now = ctx.now()
        lease_until = now + LEASE
        due = and_(
            Channel.active.is_(True),
            Channel.poll_minutes > 0,
            or_(Channel.next_poll_at.is_(None), Channel.next_poll_at <= now),
            or_(Channel.poll_locked_until.is_(None), Channel.poll_locked_until < now),
        )
        ids = list(await ctx.session.scalars(select(Channel.id).where(due)))
        if not ids:
            return []
        await ctx.session.execute(
            update(Channel)
            .where(Channel.id.in_(ids), due)
            .values(poll_locked_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        channels = await ctx.session.scalars(
            select(Channel).where(Channel.id.in_(ids), Channel.poll_locked_until == lease_until)
        )
        return [DuePoll(c, (c.polled_until or now - FIRST_WINDOW), now, lease_until) for c in channels]


async def finished(services: Services, poll: DuePoll, error: str | None) -> None:
    """Book the poll: the cursor moves (to its start, less the overlap) only after a clean poll."""
    async with services.unit_of_work(Actor.system("channels")) as ctx:
        values: dict[str, object] = {
            "last_poll_at": ctx.now(),
            "last_poll_error": error[:500] if error else None,
            "next_poll_at": ctx.now() + timedelta(minutes=poll.channel.poll_minutes),
            "poll_locked_until": None,
        }
        if error is None:
            values["polled_until"] = poll.started_at - OVERLAP
        await ctx.session.execute(
            update(Channel)
            .where(Channel.id == poll.channel.id, Channel.poll_locked_until == poll.lease_until)
            .values(**values)
        )


async def poll_now(ctx: Context, code: str) -> bool:
    """Make a channel due at once (``oms channels poll CODE``); False if there is no such channel."""
    ctx.actor.require(Permission.MASTER_DATA)
    changed = await ctx.session.execute(
        update(Channel).where(Channel.code == code.strip().upper()).values(next_poll_at=ctx.now())
    )
    return changed.rowcount == 1
