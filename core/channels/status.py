"""How each channel is doing, for ``/channels`` and ``oms channels``: is it heard from, is it
polled, is anything waiting or dead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from core.auth import Permission
from core.channels.models import Channel, ChannelDelivery, DeliveryStatus
from core.context import Context


@dataclass(frozen=True)
class ChannelHealth:
    code: str
    kind: str
    name: str
    active: bool
    has_secret: bool
    last_delivery_at: datetime | None
    last_poll_at: datetime | None
    last_poll_error: str | None
    backlog: int  # stored, not yet an order
    dead: int  # failed every attempt


async def health(ctx: Context) -> list[ChannelHealth]:
    ctx.actor.require(Permission.CHANNEL_VIEW)
    counts = (
        select(
            ChannelDelivery.channel_id,
            func.sum(case((ChannelDelivery.status == DeliveryStatus.PENDING, 1), else_=0)).label("backlog"),
            func.sum(case((ChannelDelivery.status == DeliveryStatus.DEAD, 1), else_=0)).label("dead"),
        )
        .where(ChannelDelivery.status != DeliveryStatus.DONE)
        .group_by(ChannelDelivery.channel_id)
        .subquery()
    )
    rows = await ctx.session.execute(
        select(Channel, func.coalesce(counts.c.backlog, 0), func.coalesce(counts.c.dead, 0))
        .outerjoin(counts, counts.c.channel_id == Channel.id)
        .order_by(Channel.code)
    )
    return [
        ChannelHealth(
            code=c.code,
            kind=c.kind,
            name=c.name,
            active=c.active,
            has_secret=ctx.settings.channel_secret(c.code) is not None,
            last_delivery_at=c.last_delivery_at,
            last_poll_at=c.last_poll_at,
            last_poll_error=c.last_poll_error,
            backlog=int(backlog),
            dead=int(dead),
        )
        for c, backlog, dead in rows.all()
    ]
