"""The one-tap fixes of a held channel order that teach the channel something for next time."""

from __future__ import annotations

from sqlalchemy import select

from core.auth import Permission
from core.catalog.models import Product
from core.channels import mapping
from core.channels.errors import NotAChannelOrder
from core.channels.models import Channel
from core.context import Context
from core.errors import UnknownSku, UnknownSkuNearMatch
from core.orders.models import Order
from core.orders.placement import fix_line_sku
from core.orders.repository import acting_on
from core.orders.validation import nearest_sku


async def map_sku(ctx: Context, order_no: str, channel_sku: str, sku: str) -> Order:
    """The held order's line ``channel_sku`` is our ``sku``: remember it for the order's channel
    (so the next order with that SKU goes straight through), fix the line and validate again."""
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT)
    channel = await ctx.session.scalar(select(Channel).where(Channel.code == order.channel))
    if channel is None or order.external_ref is None:
        raise NotAChannelOrder(order_no=order.order_no)
    sku = sku.strip().upper()
    known = set(await ctx.session.scalars(select(Product.sku).where(Product.active.is_(True))))
    if sku not in known:
        if suggestion := nearest_sku(sku, known):
            raise UnknownSkuNearMatch(sku=sku, suggestion=suggestion)
        raise UnknownSku(sku=sku)
    await mapping.learn(ctx, channel, channel_sku, sku)
    return await fix_line_sku(ctx, order.order_no, mapping.key(channel_sku), sku)
