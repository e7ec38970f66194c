"""Two servers' workers on one PostgreSQL database drain the same inbox: every channel order
becomes exactly one order, even when two deliveries of one order are taken by both at once, and
stock is never oversold."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from core.auth import Actor
from core.channels import inbox
from core.channels.models import Channel, ChannelDelivery, DeliveryStatus
from core.config import Settings
from core.inventory.models import StockLevel
from core.orders.models import Order
from integrations.channels.base import Delivery
from integrations.channels.worker import Worker
from tests.support import channels as wire
from tests.support.databases import make_services
from tests.support.loading import load

CHANNEL = f"""
channels:
  - {{code: SHOP1, kind: shopify, name: 官网, shop_domain: {wire.SHOP_DOMAIN}, sku_map: {{SHOPIFY-TEA: TEA-001}},
      poll_minutes: 0}}
"""
ORDERS = 60  # one unit each against 100 on hand in SH: no backorder, so every order is allocated


@pytest.mark.pg
async def test_two_workers_make_each_channel_order_once(pg_url):
    settings = Settings(database_url=pg_url, channel_credentials={"SHOP1_SECRET": wire.SHOPIFY_SECRET})
    first, second = await make_services(settings), await make_services(settings)
    try:
        await load(first)
        await load(first, CHANNEL)
        deliveries = []
        # Shopify's create and a near-simultaneous update of each order: all the creates, then all
        # the updates, so one worker's first batch (creates) races the other's (updates of the same).
        for topic in ("orders/create", "orders/updated"):
            for n in range(ORDERS):
                order = wire.shopify_order(2**53 + n, 1001 + n, lines=[("SHOPIFY-TEA", "Longjing", 1, "128.00")])
                _, body = wire.shopify_request(order)
                deliveries.append(Delivery(key=f"{topic}:{n}", topic=topic, order_key=str(order["id"]), body=body))
        async with first.unit_of_work(Actor.system("test")) as ctx:
            channel_id = await ctx.session.scalar(select(Channel.id).where(Channel.code == "SHOP1"))
            await inbox.store_many(ctx, [(channel_id, deliveries)])

        async with ClientSession() as http:
            workers = [Worker(first, http), Worker(second, http)]
            for _ in range(5):  # a lost race is retried after its backoff; run until the inbox is empty
                await asyncio.gather(*(w.run_once() for w in workers))
                async with first.reading() as session:
                    pending = await session.scalar(
                        select(func.count()).where(ChannelDelivery.status == DeliveryStatus.PENDING)
                    )
                if not pending:
                    break
                async with first.unit_of_work(Actor.system("test")) as ctx:  # skip the backoff wait
                    await ctx.session.execute(
                        ChannelDelivery.__table__.update()
                        .where(ChannelDelivery.status == DeliveryStatus.PENDING)
                        .values(next_attempt_at=ctx.now())
                    )

        async with first.reading() as session:
            orders = await session.scalar(select(func.count(Order.id)))
            distinct = await session.scalar(select(func.count(func.distinct(Order.external_ref))))
            statuses = dict(
                (
                    await session.execute(select(ChannelDelivery.status, func.count()).group_by(ChannelDelivery.status))
                ).all()
            )
            on_hand, reserved = (
                await session.execute(select(func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved)))
            ).one()
        assert orders == distinct == ORDERS
        assert statuses == {DeliveryStatus.DONE: 2 * ORDERS}
        assert reserved <= on_hand
    finally:
        await first.close()
        await second.close()
