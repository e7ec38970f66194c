"""Channel orders as the core receives them, and a shop to receive them from, for intake tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from core.auth import Actor
from core.channels import intake
from core.channels.models import Channel
from core.channels.normalised import ChannelCustomer, ChannelLine, ChannelOrder, ChannelPayment, UpstreamState
from core.services import Services
from tests.support.loading import load

SHOP = """
channels:
  - {code: SHOP1, kind: shopify, name: 官网, shop_domain: acme.myshopify.com, default_tier: standard,
     sku_map: {SHOPIFY-TEA: TEA-001}}
"""
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ADDRESS = {"contact": "张三", "phone": "13912345678", "province": "浙江", "city": "杭州", "line": "西湖区文三路90号"}


async def shop(services: Services, extra: str = "") -> None:
    """The test master data plus one Shopify channel, SHOP1."""
    await load(services)
    await load(services, SHOP + extra)


def channel_order(
    order_id: str = "820982911946154508",
    *,
    lines: tuple[tuple[str | None, int, str], ...] = (("SHOPIFY-TEA", 2, "99.00"),),
    minutes: int = 0,
    **changes: object,
) -> ChannelOrder:
    """A paid Shopify order #1001 by a new buyer: two of SHOPIFY-TEA (our TEA-001) at 99.00."""
    order = ChannelOrder(
        order_id=order_id,
        display_no="#1001",
        updated_at=T0 + timedelta(minutes=minutes),
        state=UpstreamState.OPEN,
        payment=ChannelPayment.PAID,
        currency="CNY",
        lines=tuple(
            ChannelLine(sku, f"title {sku}", qty, Decimal(price), variant_id="4470") for sku, qty, price in lines
        ),
        customer=ChannelCustomer("115310627314723954", "张三", "13912345678", "zhangsan@example.com"),
        ship_to=dict(ADDRESS),
        shipping=Decimal("10.00"),
        discount=Decimal("8.00"),
        total=Decimal("200.00"),
    )
    return replace(order, **changes)  # type: ignore[arg-type]


async def take(services: Services, order: ChannelOrder, code: str = "SHOP1") -> intake.Taken:
    async def run(ctx):  # type: ignore[no-untyped-def]
        channel = await ctx.session.scalar(select(Channel).where(Channel.code == code))
        return await intake.take(ctx, channel, order)

    return await services.run(Actor.system(f"channel:{code}"), run)
