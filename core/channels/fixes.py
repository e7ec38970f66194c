"""The one-tap fixes of a held channel order that teach the channel something for next time."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from core.audit.record import audit
from core.auth import Permission
from core.catalog.models import Product
from core.channels import mapping
from core.channels.errors import NotAChannelOrder
from core.channels.models import Channel
from core.context import Context
from core.errors import OrderLineNotFound, UnknownSku, UnknownSkuNearMatch
from core.orders.errors import OnlyHeldOrdersFixed
from core.orders.lifecycle import can
from core.orders.models import Order
from core.orders.placement import revalidate
from core.orders.repository import acting_on
from core.orders.status import OrderStatus
from core.orders.validation import nearest_sku


async def map_sku(ctx: Context, order_no: str, channel_sku: str, sku: str) -> Order:
    """The held order's line ``channel_sku`` is our ``sku``: remember it for the order's channel
    (so the next order with that SKU goes straight through), fix the line and validate again."""
    return await map_skus(ctx, order_no, {channel_sku: sku})


async def map_skus(ctx: Context, order_no: str, skus: Mapping[str, str]) -> Order:
    """Several lines at once (the hold card's one tap maps every SKU it suggested), validated once."""
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT)
    channel = await ctx.session.scalar(select(Channel).where(Channel.code == order.channel))
    if channel is None or order.external_ref is None:
        raise NotAChannelOrder(order_no=order.order_no)
    if not can(order, "fix_sku"):
        raise OnlyHeldOrdersFixed(order_no=order.order_no, state=OrderStatus(order.status))
    known = set(await ctx.session.scalars(select(Product.sku).where(Product.active.is_(True))))
    for channel_sku, wanted in skus.items():
        sku = wanted.strip().upper()
        if sku not in known:
            if suggestion := nearest_sku(sku, known):
                raise UnknownSkuNearMatch(sku=sku, suggestion=suggestion)
            raise UnknownSku(sku=sku)
        changed = [line for line in order.lines if line.sku == mapping.key(channel_sku)]
        if not changed:
            raise OrderLineNotFound(order_no=order.order_no, sku=mapping.key(channel_sku))
        for line in changed:
            line.sku = sku
        await mapping.learn(ctx, channel, channel_sku, sku)
        audit(
            ctx,
            entity="order",
            key=order.order_no,
            order_id=order.id,
            action="edit_line",
            reason=f"{mapping.key(channel_sku)} → {sku}",
        )
    await ctx.session.flush()
    return await revalidate(ctx, order.order_no)
