"""Each channel end to end over real HTTP: the signed request in, 2xx out, the worker makes the
order; forged or stale requests leave nothing; a crash after the ack still gives the order; the
poll finds what a lost webhook missed; a delivery that keeps failing reaches an admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from bot.models import ChatMessage
from core.auth import Actor
from core.channels.models import Channel, ChannelDelivery, DeliveryStatus
from core.orders.models import Order, OrderLine
from core.services import Services
from integrations.channels import worker as channel_worker
from integrations.channels.poll import poll_due
from integrations.channels.route import mount as channels
from integrations.web import events
from integrations.web.app import build_app
from tests.fakes.channels import FakeDouyin, FakeShopify
from tests.support import channels as wire
from tests.support.databases import make_services, sqlite_settings
from tests.support.loading import load
from tests.support.waiting import until

CHANNELS = f"""
channels:
  - {{code: SHOP1, kind: shopify, name: 官网, shop_domain: {wire.SHOP_DOMAIN}, sku_map: {{SHOPIFY-TEA: TEA-001}},
      poll_minutes: 0}}
  - {{code: WOO1, kind: woocommerce, name: 独立站, api_url: "https://shop.example", poll_minutes: 0}}
  - {{code: DY1, kind: douyin, name: 抖店, shop_domain: "{wire.DOUYIN_SHOP_ID}", api_url: "{{douyin}}",
      poll_minutes: 0}}
  - {{code: STD1, kind: standard, name: ERP, poll_minutes: 0}}
users:
  - {{name: 管理员, roles: [admin], identities: {{console: admin}}}}
"""
CREDENTIALS = {
    "SHOP1_SECRET": wire.SHOPIFY_SECRET,
    "SHOP1_TOKEN": wire.SHOPIFY_TOKEN,
    "WOO1_SECRET": wire.WOO_SECRET,
    "DY1_SECRET": wire.DOUYIN_APP_SECRET,
    "DY1_TOKEN": wire.DOUYIN_APP_KEY,
    "STD1_SECRET": wire.STANDARD_SECRET,
}


@dataclass
class Shop:
    client: TestClient
    services: Services
    douyin: FakeDouyin

    async def post(self, code: str, request: wire.Request) -> tuple[int, bytes]:
        headers, body = request
        async with self.client.post(f"/webhooks/channels/{code}", data=body, headers=headers) as response:
            return response.status, await response.read()

    async def orders(self, channel: str | None = None) -> list[Order]:
        async with self.services.reading() as session:
            stmt = select(Order).order_by(Order.id)
            if channel:
                stmt = stmt.where(Order.channel == channel)
            return list(await session.scalars(stmt))

    async def deliveries(self) -> list[ChannelDelivery]:
        async with self.services.reading() as session:
            return list(await session.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id)))

    async def order_appears(self, channel: str, count: int = 1) -> list[Order]:
        async def enough() -> list[Order] | None:
            orders = await self.orders(channel)
            return orders if len(orders) >= count else None

        return await until(enough)

    async def worked(self) -> None:
        """Every stored delivery finished (done or dead)."""

        async def idle() -> bool:
            return all(d.status != DeliveryStatus.PENDING for d in await self.deliveries())

        await until(idle)


async def start(services: Services) -> TestClient:
    app, _ = build_app(services, [channels, events.mount])
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[Shop]:
    douyin = await FakeDouyin().start()
    services = await make_services(sqlite_settings(tmp_path / "oms.db", channel_credentials=CREDENTIALS))
    await load(services)
    await load(services, CHANNELS.replace("{douyin}", douyin.url))
    client = await start(services)
    try:
        yield Shop(client, services, douyin)
    finally:
        await client.close()
        await douyin.stop()


async def test_a_shopify_order_arrives_once_however_often_it_is_delivered(shop):
    request = wire.shopify_request(wire.shopify_order(), event_id="evt-1")
    assert (await shop.post("SHOP1", request))[0] == 200
    [order] = await shop.order_appears("SHOP1")
    assert (order.channel_order_no, order.external_ref) == ("#1001", "5814103261412345678")
    # Shopify's retry of the same event (a new webhook id, the same event id) and a plain repeat.
    again = wire.shopify_request(wire.shopify_order(), event_id="evt-1")
    assert (await shop.post("SHOP1", again))[0] == 200
    assert (await shop.post("SHOP1", request))[0] == 200
    await shop.worked()
    assert len(await shop.deliveries()) == 1 and len(await shop.orders()) == 1


async def test_the_newer_unprefixed_shopify_headers_are_accepted(shop):
    assert (await shop.post("SHOP1", wire.shopify_request(wire.shopify_order(), events_family=True)))[0] == 200
    await shop.order_appears("SHOP1")


async def test_forged_and_stale_requests_get_401_and_leave_nothing(shop):
    forged = wire.shopify_request(wire.shopify_order(), secret="not-the-secret")
    wrong_shop = wire.shopify_request(wire.shopify_order(), shop_domain="evil.myshopify.com")
    stale = wire.standard_request(
        wire.standard_event(wire.standard_data()), timestamp=datetime.now(UTC) - timedelta(minutes=6)
    )
    forged_douyin = wire.douyin_request([wire.douyin_message(100)], app_secret="guess")
    assert (await shop.post("SHOP1", forged))[0] == 401
    assert (await shop.post("SHOP1", wrong_shop))[0] == 401
    assert (await shop.post("STD1", stale))[0] == 401
    assert (await shop.post("DY1", forged_douyin))[0] == 401
    assert await shop.deliveries() == [] and await shop.orders() == []


async def test_an_unknown_channel_is_404_and_a_channel_without_its_secret_refuses(shop, tmp_path):
    assert (await shop.post("NOPE", wire.shopify_request(wire.shopify_order())))[0] == 404
    services = await make_services(sqlite_settings(tmp_path / "bare.db"))  # no OMS_CHANNEL_*_SECRET
    await load(services)
    await load(services, CHANNELS.replace("{douyin}", shop.douyin.url))
    client = await start(services)
    try:
        headers, body = wire.shopify_request(wire.shopify_order())
        async with client.post("/webhooks/channels/SHOP1", data=body, headers=headers) as response:
            assert response.status == 401
    finally:
        await client.close()


async def test_a_woocommerce_ping_is_answered_exactly_200_and_its_orders_arrive(shop):
    status, _ = await shop.post("WOO1", wire.woo_ping())
    assert status == 200 and await shop.deliveries() == []
    assert (await shop.post("WOO1", wire.woo_request(wire.woo_order())))[0] == 200
    [order] = await shop.order_appears("WOO1")
    assert order.external_ref == "727"


async def test_a_douyin_push_is_acknowledged_its_way_and_the_order_is_fetched(shop):
    shop.douyin.add(wire.douyin_detail())
    status, body = await shop.post("DY1", wire.douyin_request([wire.douyin_ping()]))
    assert (status, body) == (200, b'{"code":0,"msg":"success"}') and await shop.deliveries() == []
    status, body = await shop.post("DY1", wire.douyin_request([wire.douyin_message(100)]))
    assert (status, body) == (200, b'{"code":0,"msg":"success"}')
    [order] = await shop.order_appears("DY1")
    assert order.external_ref == "6917533224570258991" and order.total > 0
    assert shop.douyin.bodies("order.orderDetail")  # the thin push was filled in from the API


async def test_a_standard_webhooks_order_arrives(shop):
    request = wire.standard_request(wire.standard_event(wire.standard_data()))
    assert (await shop.post("STD1", request))[0] in (200, 204)
    [order] = await shop.order_appears("STD1")
    assert (order.external_ref, order.channel_order_no) == ("A-1001", "#A-1001")


async def test_an_update_arriving_before_its_create_is_not_undone_by_it(shop):
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    newer = wire.shopify_order(lines=[("SHOPIFY-TEA", "Longjing", 3, "128.00")], updated_at=t0 + timedelta(minutes=5))
    older = wire.shopify_order(updated_at=t0)
    await shop.post("SHOP1", wire.shopify_request(newer, "orders/updated"))
    [order] = await shop.order_appears("SHOP1")
    await shop.post("SHOP1", wire.shopify_request(older, "orders/create"))
    await shop.worked()
    async with shop.services.reading() as session:
        qty = await session.scalar(select(func.sum(OrderLine.qty)).where(OrderLine.order_id == order.id))
    assert qty == 3  # the older state changed nothing


async def test_a_cancellation_upstream_cancels_the_order(shop):
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    await shop.post("SHOP1", wire.shopify_request(wire.shopify_order(updated_at=t0)))
    await shop.order_appears("SHOP1")
    cancel = wire.shopify_order(updated_at=t0 + timedelta(minutes=1), cancelled=True)
    await shop.post("SHOP1", wire.shopify_request(cancel, "orders/cancelled"))

    async def cancelled() -> bool:
        return [o.status for o in await shop.orders()] == ["cancelled"]

    await until(cancelled)


async def test_a_crash_between_the_ack_and_the_work_still_gives_the_order(shop, tmp_path, monkeypatch):
    async def dies(self: Any) -> int:  # the process acknowledged, then went down before working
        return 0

    services = await make_services(sqlite_settings(tmp_path / "crash.db", channel_credentials=CREDENTIALS))
    await load(services)
    await load(services, CHANNELS.replace("{douyin}", shop.douyin.url))
    with monkeypatch.context() as patch:
        patch.setattr(channel_worker.Worker, "run_once", dies)
        down = await start(services)
        headers, body = wire.shopify_request(wire.shopify_order())
        async with down.post("/webhooks/channels/SHOP1", data=body, headers=headers) as response:
            assert response.status == 200
        await down.close()
    restarted = await make_services(services.settings)
    again = await start(restarted)
    try:

        async def order() -> int:
            async with restarted.reading() as session:
                return await session.scalar(select(func.count(Order.id)))

        assert await until(order) == 1
    finally:
        await again.close()


async def test_a_delivery_that_cannot_be_read_is_dead_lettered_and_an_admin_told(shop):
    unreadable = {"id": "not an order"}  # signed by the shop, but no order in it
    assert (await shop.post("SHOP1", wire.shopify_request(unreadable)))[0] == 200
    await shop.worked()
    [delivery] = await shop.deliveries()
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_error

    async def told() -> list[str]:
        async with shop.services.reading() as session:
            return list(await session.scalars(select(ChatMessage.text).where(ChatMessage.text.contains("retry"))))

    [text] = await until(told)
    assert f"oms channels retry {delivery.id}" in text


async def test_the_poll_finds_an_order_whose_webhook_was_lost(shop):
    fake = await FakeShopify().start()
    try:
        fake.add(wire.shopify_order(number=1002, updated_at=datetime.now(UTC)))
        async with shop.services.unit_of_work(Actor.system("test")) as ctx:
            await ctx.session.execute(
                update(Channel).where(Channel.code == "SHOP1").values(api_url=fake.url, poll_minutes=15)
            )
        async with ClientSession() as http:
            assert await poll_due(shop.services, http) == 1
            assert await poll_due(shop.services, http) == 0  # not due again until poll_minutes pass
        [order] = await shop.orders("SHOP1")
        assert order.channel_order_no == "#1002"
        async with shop.services.reading() as session:
            channel = await session.scalar(select(Channel).where(Channel.code == "SHOP1"))
        assert channel.last_poll_at is not None and channel.last_poll_error is None
        assert channel.polled_until is not None
    finally:
        await fake.stop()


async def test_housekeeping_forgets_deliveries_made_into_orders_a_month_ago_but_keeps_dead_letters(shop):
    from bot.scheduler import housekeeping

    await shop.post("SHOP1", wire.shopify_request(wire.shopify_order()))
    await shop.order_appears("SHOP1")
    await shop.post("SHOP1", wire.shopify_request({"id": "not an order"}))
    await shop.worked()
    assert await housekeeping(shop.services) == 0  # a fresh delivery is still needed to spot repeats
    async with shop.services.unit_of_work(Actor.system("test")) as ctx:
        await ctx.session.execute(
            update(ChannelDelivery).values(processed_at=ctx.now() - timedelta(days=31), received_at=ctx.now())
        )
    assert await housekeeping(shop.services) == 1
    assert [d.status for d in await shop.deliveries()] == [DeliveryStatus.DEAD]
    assert len(await shop.orders()) == 1
