"""How each channel is doing, for ``/channels`` and ``oms channels``: is it heard from, is it
polled, is anything waiting or dead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from core.auth import Permission
from core.channels.models import Channel, ChannelDelivery, DeliveryStatus
from core.config import channel_env_code
from core.context import Context


@dataclass(frozen=True)
class ChannelHealth:
    code: str
    kind: str
    name: str
    active: bool
    missing: tuple[str, ...]  # the variables it needs before its deliveries are accepted
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
            missing=_missing(ctx, c),
            last_delivery_at=c.last_delivery_at,
            last_poll_at=c.last_poll_at,
            last_poll_error=c.last_poll_error,
            backlog=int(backlog),
            dead=int(dead),
        )
        for c, backlog, dead in rows.all()
    ]


def _missing(ctx: Context, channel: Channel) -> tuple[str, ...]:
    """What the channel lacks to check its deliveries: a secret, and for Douyin its app_key (the
    TOKEN) too, which the push names in ``app-id``."""
    wanted = ["SECRET", "TOKEN"] if channel.kind == "douyin" else ["SECRET"]
    return tuple(
        f"OMS_CHANNEL_{channel_env_code(channel.code)}_{which}"
        for which in wanted
        if ctx.settings.channel_secret(channel.code, which) is None  # type: ignore[arg-type]
    )
