"""Each kind reading a stored delivery into ``ChannelOrder``s: ids never through a float, money
exact, payment and cancellation as the channel means them, redacted people as None."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.channels.normalised import ChannelPayment, UpstreamState
from integrations.channels import douyin, shopify, standard, woocommerce
from integrations.channels.base import ChannelConfig, Malformed
from tests.support import channels as wire

SHOP = ChannelConfig("SHOP1", "shopify", wire.SHOPIFY_SECRET)
WOO = ChannelConfig("WOO1", "woocommerce", wire.WOO_SECRET)
STANDARD = ChannelConfig("ERP", "standard", wire.STANDARD_SECRET)


async def read(kind, channel, topic, body):
    return await kind.orders(channel, topic, body, api=None)


# --- Shopify -------------------------------------------------------------------------------------


async def test_shopify_order_is_read_with_its_id_exact_and_money_as_decimal():
    big = 2**53 + 1  # as a float this would become 2**53
    order = wire.shopify_order(
        big,
        1001,
        [("SHOPIFY-TEA", "Longjing", 2, "128.10"), (None, "Gift wrap", 1, "0.10")],
        shipping="10.00",
        discount="5.00",
    )
    (got,) = await read(shopify.KIND, SHOP, "orders/create", json.dumps(order).encode())

    assert got.order_id == str(big) == "9007199254740993"
    assert got.display_no == "#1001"
    assert got.updated_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert [(line.channel_sku, line.qty, line.unit_price) for line in got.lines] == [
        ("SHOPIFY-TEA", 2, Decimal("128.10")),
        (None, 1, Decimal("0.10")),
    ]
    assert got.lines[0].variant_id == str(order["line_items"][0]["variant_id"])
    assert (got.shipping, got.discount, got.total) == (Decimal("10.00"), Decimal("5.00"), Decimal("261.30"))
    assert got.state is UpstreamState.OPEN and got.payment is ChannelPayment.PAID
    assert got.customer.name == "Fang Wang" and got.customer.email == "fang.wang@example.com"
    assert got.customer.channel_customer_id == str(order["customer"]["id"])
    assert got.ship_to == {
        "contact": "Fang Wang",
        "phone": "+86 138 0000 0000",
        "province": "浙江省",
        "city": "杭州市",
        "line": "文三路 1 号 3 单元 501",
        "postcode": "310000",
    }
    assert got.note == "请周末送达" and got.test is False and got.currency == "CNY"


async def test_shopify_redacted_customer_gives_no_customer_and_no_ship_to():
    order = wire.shopify_order(redacted=True)
    (got,) = await read(shopify.KIND, SHOP, "orders/create", json.dumps(order).encode())
    assert got.customer is None
    assert got.ship_to is None
    assert got.lines  # the order itself is still read

    order = wire.shopify_order(customer=False)
    (guest,) = await read(shopify.KIND, SHOP, "orders/create", json.dumps(order).encode())
    assert guest.customer is not None and guest.customer.channel_customer_id is None  # the order email remains


@pytest.mark.parametrize(
    ("status", "gateway", "expected"),
    [
        ("paid", "shopify_payments", ChannelPayment.PAID),
        ("partially_paid", "shopify_payments", ChannelPayment.PAID),
        ("pending", "shopify_payments", ChannelPayment.PENDING),
        ("authorized", "shopify_payments", ChannelPayment.PENDING),
        ("pending", "cash_on_delivery", ChannelPayment.COD),
    ],
)
async def test_shopify_payment(status, gateway, expected):
    order = wire.shopify_order(financial_status=status, gateway=gateway)
    (got,) = await read(shopify.KIND, SHOP, "orders/updated", json.dumps(order).encode())
    assert got.payment is expected


async def test_shopify_cancellation_by_field_by_topic_and_by_deletion():
    (by_field,) = await read(
        shopify.KIND, SHOP, "orders/updated", json.dumps(wire.shopify_order(cancelled=True)).encode()
    )
    (by_topic,) = await read(shopify.KIND, SHOP, "orders/cancelled", json.dumps(wire.shopify_order()).encode())
    (deleted,) = await read(shopify.KIND, SHOP, "orders/delete", b'{"id": 9007199254740993}')

    assert by_field.state is by_topic.state is deleted.state is UpstreamState.CANCELLED
    assert by_field.cancel_reason == "customer"
    assert deleted.order_id == "9007199254740993"


async def test_shopify_test_orders_are_flagged_and_other_topics_give_nothing():
    (got,) = await read(shopify.KIND, SHOP, "orders/create", json.dumps(wire.shopify_order(test=True)).encode())
    assert got.test is True
    assert await read(shopify.KIND, SHOP, "app/uninstalled", b"{}") == []


async def test_shopify_unreadable_body_is_malformed():
    with pytest.raises(Malformed):
        await read(shopify.KIND, SHOP, "orders/create", b'{"id": 1}')


# --- WooCommerce ---------------------------------------------------------------------------------


async def test_woocommerce_order_numbers_never_become_floats():
    order = wire.woo_order(727, [("TEA-001", "龙井茶 250g", 3, 19.99), ("", "茶匙", 1, 0.1)], shipping="8.00")
    headers, body = wire.woo_request(order)
    assert b'"price": 19.99' in body  # a JSON number on the wire

    (got,) = await read(woocommerce.KIND, WOO, "order.created", body)

    assert got.order_id == "727" and got.display_no == "#727"
    assert got.updated_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # *_gmt has no offset: UTC
    assert [(line.channel_sku, line.title, line.qty, line.unit_price) for line in got.lines] == [
        ("TEA-001", "龙井茶 250g", 3, Decimal("19.99")),
        (None, "茶匙", 1, Decimal("0.10")),
    ]
    assert (got.shipping, got.total) == (Decimal("8.00"), Decimal("68.07"))
    assert got.customer.channel_customer_id == "12" and got.customer.phone == "13800000000"
    assert got.customer.name == "王芳"  # family name first, as Chinese names read
    assert got.ship_to["line"] == "文三路 1 号" and got.ship_to["contact"] == "王芳"
    assert got.ship_to["phone"] == "13800000000"  # shipping phone empty: billing's


@pytest.mark.parametrize(
    ("status", "method", "paid", "state", "payment"),
    [
        ("processing", "alipay", True, UpstreamState.OPEN, ChannelPayment.PAID),
        ("on-hold", "bacs", False, UpstreamState.OPEN, ChannelPayment.PENDING),
        ("on-hold", "bacs", True, UpstreamState.OPEN, ChannelPayment.PAID),
        ("pending", "alipay", False, UpstreamState.OPEN, ChannelPayment.PENDING),
        ("processing", "cod", True, UpstreamState.OPEN, ChannelPayment.COD),
        ("cancelled", "alipay", False, UpstreamState.CANCELLED, ChannelPayment.PENDING),
        ("refunded", "alipay", True, UpstreamState.CANCELLED, ChannelPayment.PAID),
        ("failed", "alipay", False, UpstreamState.CANCELLED, ChannelPayment.PENDING),
        ("trash", "alipay", False, UpstreamState.CANCELLED, ChannelPayment.PENDING),
    ],
)
async def test_woocommerce_status_and_payment(status, method, paid, state, payment):
    _, body = wire.woo_request(wire.woo_order(status=status, payment_method=method, paid=paid))
    (got,) = await read(woocommerce.KIND, WOO, "order.updated", body)
    assert (got.state, got.payment) == (state, payment)


async def test_woocommerce_deleted_order_is_cancelled_from_its_id_alone():
    (got,) = await read(woocommerce.KIND, WOO, "order.deleted", b'{"id":727}')
    assert (got.order_id, got.state, got.lines) == ("727", UpstreamState.CANCELLED, ())


async def test_woocommerce_coupon_is_the_discount_and_the_unit_price_is_before_it():
    order = wire.woo_order(lines=[("TEA-001", "龙井茶", 2, 128.0)], discount="20.00")
    order["line_items"][0]["total"] = "236.00"
    order["line_items"][0]["price"] = 118  # after the coupon, and an integer on the wire
    (got,) = await read(woocommerce.KIND, WOO, "order.created", wire.woo_body(order))
    assert got.lines[0].unit_price == Decimal("128.00")
    assert got.discount == Decimal("20.00")


# --- Douyin (mapping of the detail; the API call is in the integration tests) ---------------------


def test_douyin_detail_in_fen_becomes_yuan():
    detail = wire.douyin_detail(lines=[("TEA-001", "龙井茶 250g", 2, 12800), ("", "茶杯", 1, 999)])

    got = douyin.order_from(detail)

    assert got.order_id == got.display_no == "6917533224570258991"
    assert [(line.channel_sku, line.qty, line.unit_price) for line in got.lines] == [
        ("TEA-001", 2, Decimal("128.00")),
        (None, 1, Decimal("9.99")),
    ]
    assert (got.shipping, got.discount, got.total) == (Decimal("10.00"), Decimal("5.00"), Decimal("270.99"))
    assert got.currency == "CNY" and got.payment is ChannelPayment.PAID and got.state is UpstreamState.OPEN
    assert got.ship_to == {
        "contact": "王***",
        "phone": "1********00",
        "province": "浙江省",
        "city": "杭州市",
        "line": "西湖区 文新街道 文三路***号",
        "postcode": None,
    }
    assert got.customer.phone is None  # a masked phone would match the wrong customer
    assert got.raw["post_addr"]["encrypt_detail"]  # the encrypted address is kept


@pytest.mark.parametrize(
    ("status", "pay_type", "state", "payment"),
    [
        (1, 1, UpstreamState.OPEN, ChannelPayment.PENDING),
        (105, 1, UpstreamState.OPEN, ChannelPayment.PAID),
        (2, 2, UpstreamState.OPEN, ChannelPayment.PAID),
        (3, 1, UpstreamState.OPEN, ChannelPayment.PAID),
        (1, 0, UpstreamState.OPEN, ChannelPayment.COD),
        (4, 1, UpstreamState.CANCELLED, ChannelPayment.PAID),
    ],
)
def test_douyin_status_and_payment(status, pay_type, state, payment):
    got = douyin.order_from(wire.douyin_detail(status=status, pay_type=pay_type))
    assert (got.state, got.payment) == (state, payment)


async def test_douyin_after_sale_messages_give_no_order_without_calling_the_api():
    channel = ChannelConfig("DY1", "douyin", wire.DOUYIN_APP_SECRET, wire.DOUYIN_APP_KEY)
    body = json.dumps(wire.douyin_message(200)).encode()
    assert await douyin.KIND.orders(channel, "douyin:200", body, api=None) == []


# --- Standard ------------------------------------------------------------------------------------


async def test_standard_event_data_is_the_order():
    data = wire.standard_data("A-1001", [("TEA-001", "龙井茶", 2, "128.00")], payment="cod")
    (got,) = await read(standard.KIND, STANDARD, "order.created", json.dumps(wire.standard_event(data)).encode())

    assert (got.order_id, got.display_no, got.payment) == ("A-1001", "#A-1001", ChannelPayment.COD)
    assert got.lines[0].unit_price == Decimal("128.00") and got.total == Decimal("261.00")
    assert got.customer.phone == "13800000000" and got.ship_to["postcode"] == "310000"


async def test_standard_cancelled_event_cancels_and_missing_people_are_none():
    data = wire.standard_data(customer=False)
    event = wire.standard_event(data, "order.cancelled")
    (got,) = await read(standard.KIND, STANDARD, "order.cancelled", json.dumps(event).encode())
    assert got.state is UpstreamState.CANCELLED
    assert got.customer is None and got.ship_to is None


async def test_standard_unknown_payment_is_malformed():
    data = {**wire.standard_data(), "payment": "barter"}
    with pytest.raises(Malformed):
        await read(standard.KIND, STANDARD, "order.updated", json.dumps(wire.standard_event(data)).encode())


async def test_standard_signed_body_that_is_not_an_event_is_malformed_not_dropped():
    headers, body = wire.standard_request({"hello": "world"})
    (delivery,) = standard.KIND.verify(STANDARD, headers, body, datetime.now(UTC)).deliveries
    with pytest.raises(Malformed):
        await read(standard.KIND, STANDARD, delivery.topic, delivery.body)
    assert await read(standard.KIND, STANDARD, "customer.created", body) == []
