"""The kinds against fake channel APIs over real HTTP: reconciliation follows each channel's
pagination and sends its credentials; Douyin's signed calls are accepted by a gateway that checks
the sign, refused with a wrong secret, and fetch the order a thin push names."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientResponseError, ClientSession

from integrations.channels import shopify, standard, woocommerce
from integrations.channels.base import ApiFailed, ChannelConfig
from integrations.channels.douyin import Douyin
from tests.fakes.channels import FakeDouyin, FakeShopify, FakeStandard, FakeWooCommerce
from tests.support import channels as wire

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def started(fake):
    await fake.start()
    return fake


# --- Shopify -------------------------------------------------------------------------------------


@pytest.fixture
async def fake_shopify() -> AsyncIterator[FakeShopify]:
    fake = await started(FakeShopify(page_size=2))
    yield fake
    await fake.stop()


async def test_shopify_poll_follows_link_pages_with_the_access_token(fake_shopify, http):
    for n in range(5):
        fake_shopify.add(wire.shopify_order(2**53 + n, 1001 + n, updated_at=T0 + timedelta(hours=n)))
    fake_shopify.add(wire.shopify_order(2**53 + 9, 1010, updated_at=T0 - timedelta(days=1)))  # older
    fake_shopify.add(wire.shopify_order(2**53 + 10, 1011, updated_at=T0 + timedelta(hours=1), cancelled=True))
    channel = ChannelConfig("SHOP1", "shopify", wire.SHOPIFY_SECRET, wire.SHOPIFY_TOKEN, api_url=fake_shopify.url)

    orders = await shopify.KIND.changed_since(channel, T0, http)

    assert sorted(o.display_no for o in orders) == ["#1001", "#1002", "#1003", "#1004", "#1005", "#1011"]
    assert str(2**53 + 1) in {o.order_id for o in orders}
    assert len(fake_shopify.requests) == 3  # 6 orders, 2 a page
    assert fake_shopify.requests[0].query["status"] == "any"
    assert all(r.headers["X-Shopify-Access-Token"] == wire.SHOPIFY_TOKEN for r in fake_shopify.requests)


async def test_shopify_poll_with_a_wrong_token_fails_loudly(fake_shopify, http):
    channel = ChannelConfig("SHOP1", "shopify", wire.SHOPIFY_SECRET, "shpat_wrong", api_url=fake_shopify.url)
    with pytest.raises(ClientResponseError) as refused:
        await shopify.KIND.changed_since(channel, T0, http)
    assert refused.value.status == 401


# --- WooCommerce ---------------------------------------------------------------------------------


@pytest.fixture
async def fake_woo() -> AsyncIterator[FakeWooCommerce]:
    fake = await started(FakeWooCommerce(page_size=2))
    yield fake
    await fake.stop()


async def test_woocommerce_poll_reads_every_page_with_basic_auth(fake_woo, http):
    for n in range(5):
        fake_woo.add(wire.woo_order(700 + n, modified=T0 + timedelta(minutes=n + 1)))
    fake_woo.add(wire.woo_order(690, modified=T0 - timedelta(hours=1)))
    channel = ChannelConfig("WOO1", "woocommerce", wire.WOO_SECRET, wire.WOO_TOKEN, api_url=fake_woo.url)

    orders = await woocommerce.KIND.changed_since(channel, T0, http)

    assert sorted(o.order_id for o in orders) == ["700", "701", "702", "703", "704"]
    assert [r.query["page"] for r in fake_woo.requests] == ["1", "2", "3"]
    key, secret = wire.WOO_TOKEN.split(":")
    basic = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    assert all(r.headers["Authorization"] == basic for r in fake_woo.requests)


async def test_woocommerce_poll_with_wrong_keys_fails_loudly(fake_woo, http):
    channel = ChannelConfig("WOO1", "woocommerce", wire.WOO_SECRET, "ck_x:cs_y", api_url=fake_woo.url)
    with pytest.raises(ClientResponseError) as refused:
        await woocommerce.KIND.changed_since(channel, T0, http)
    assert refused.value.status == 401


# --- Douyin --------------------------------------------------------------------------------------


@pytest.fixture
async def fake_douyin() -> AsyncIterator[FakeDouyin]:
    fake = await started(FakeDouyin(page_size=2))
    yield fake
    await fake.stop()


def douyin_channel(fake: FakeDouyin, secret: str = wire.DOUYIN_APP_SECRET, token: str = wire.DOUYIN_APP_KEY):
    return ChannelConfig("DY1", "douyin", secret, token, shop_domain=wire.DOUYIN_SHOP_ID, api_url=fake.url)


async def test_douyin_push_is_read_through_a_signed_order_detail_call(fake_douyin, http):
    fake_douyin.add(wire.douyin_detail("6917533224570258991", status=105))
    channel = douyin_channel(fake_douyin)
    headers, body = wire.douyin_request([wire.douyin_message(101, "6917533224570258991")])
    (delivery,) = Douyin().verify(channel, headers, body, datetime.now(UTC)).deliveries
    kind = Douyin()

    (order,) = await kind.orders(channel, delivery.topic, delivery.body, http)

    assert order.order_id == "6917533224570258991" and order.lines[0].channel_sku == "TEA-001"
    methods = [r.query["method"] for r in fake_douyin.requests]
    assert methods == ["token.create", "order.orderDetail"]
    assert fake_douyin.requests[1].query["access_token"] == fake_douyin.tokens_issued[0]
    assert fake_douyin.requests[1].query["sign_method"] == "hmac-sha256"

    await kind.orders(channel, delivery.topic, delivery.body, http)
    assert len(fake_douyin.tokens_issued) == 1  # the created token is kept


async def test_douyin_sign_with_a_wrong_secret_is_refused_by_the_gateway(fake_douyin, http):
    fake_douyin.add(wire.douyin_detail())
    channel = douyin_channel(fake_douyin, secret="not-the-app-secret")
    body = json.dumps(wire.douyin_message(100)).encode()

    with pytest.raises(ApiFailed) as refused:
        await Douyin().orders(channel, "douyin:100", body, http)
    assert refused.value.code == 40004


async def test_douyin_a_given_access_token_is_used_as_it_is(fake_douyin, http):
    fake_douyin.add(wire.douyin_detail())
    fake_douyin.tokens_issued.append("tok-from-oauth")
    channel = douyin_channel(fake_douyin, token=f"{wire.DOUYIN_APP_KEY}:tok-from-oauth")

    await Douyin().orders(channel, "douyin:100", json.dumps(wire.douyin_message(100)).encode(), http)

    assert [r.query["access_token"] for r in fake_douyin.requests] == ["tok-from-oauth"]


async def test_douyin_an_expiring_token_is_created_again(fake_douyin, http):
    fake_douyin.add(wire.douyin_detail())
    fake_douyin.expires_in = 60  # inside the renewal margin: every call renews
    kind, channel = Douyin(), douyin_channel(fake_douyin)
    body = json.dumps(wire.douyin_message(100)).encode()

    await kind.orders(channel, "douyin:100", body, http)
    await kind.orders(channel, "douyin:100", body, http)

    assert len(fake_douyin.tokens_issued) == 2


async def test_douyin_poll_pages_the_search_list_then_reads_details(fake_douyin, http):
    for n in range(5):
        fake_douyin.add(wire.douyin_detail(f"69175332245702590{n:02d}", updated=T0 + timedelta(minutes=n)))
    fake_douyin.add(wire.douyin_detail("6917533224570250000", updated=T0 - timedelta(days=1)))

    orders = await Douyin().changed_since(douyin_channel(fake_douyin), T0, http)

    assert sorted(o.order_id for o in orders) == [f"69175332245702590{n:02d}" for n in range(5)]
    searches = [json.loads(await_body) for await_body in fake_douyin.bodies("order.searchList")]
    assert [s["page"] for s in searches] == [0, 1, 2]
    assert searches[0]["update_time_start"] == int(T0.timestamp())


# --- Standard ------------------------------------------------------------------------------------


@pytest.fixture
async def fake_standard() -> AsyncIterator[FakeStandard]:
    fake = await started(FakeStandard(page_size=2))
    yield fake
    await fake.stop()


async def test_standard_poll_follows_next_with_the_bearer_token(fake_standard, http):
    for n in range(5):
        fake_standard.add(wire.standard_data(f"A-{n}", updated=T0 + timedelta(minutes=n)))
    fake_standard.add(wire.standard_data("A-old", updated=T0 - timedelta(days=1)))
    channel = ChannelConfig("ERP", "standard", wire.STANDARD_SECRET, wire.STANDARD_TOKEN, api_url=fake_standard.url)

    orders = await standard.KIND.changed_since(channel, T0, http)

    assert [o.order_id for o in orders] == ["A-0", "A-1", "A-2", "A-3", "A-4"]
    assert len(fake_standard.requests) == 3
    assert all(r.headers["Authorization"] == f"Bearer {wire.STANDARD_TOKEN}" for r in fake_standard.requests)
    assert all(r.query["updated_since"] == T0.isoformat() for r in fake_standard.requests)


async def test_standard_poll_with_a_wrong_token_fails_loudly(fake_standard, http):
    channel = ChannelConfig("ERP", "standard", wire.STANDARD_SECRET, "nope", api_url=fake_standard.url)
    with pytest.raises(ClientResponseError):
        await standard.KIND.changed_since(channel, T0, http)
