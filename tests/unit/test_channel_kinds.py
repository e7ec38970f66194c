"""Each channel kind's check of the raw request: genuine signatures pass, forged ones raise
``Forged``, stale Standard Webhooks raise ``Stale``, pings are answered without storing, and the
delivery keys are the ones each channel repeats on its retries (and only then)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.channels.normalised import ChannelKind
from integrations.channels import douyin, shopify, standard, woocommerce
from integrations.channels.base import ChannelConfig, Forged, Stale
from integrations.channels.kinds import KINDS
from tests.support import channels as wire

NOW = datetime.now(UTC)  # what the route passes; Standard Webhooks' window uses the wall clock itself
SHOP = ChannelConfig("SHOP1", "shopify", wire.SHOPIFY_SECRET, wire.SHOPIFY_TOKEN, shop_domain=wire.SHOP_DOMAIN)
WOO = ChannelConfig("WOO1", "woocommerce", wire.WOO_SECRET, wire.WOO_TOKEN, api_url="https://shop.example")
DOUYIN = ChannelConfig("DY1", "douyin", wire.DOUYIN_APP_SECRET, wire.DOUYIN_APP_KEY, shop_domain=wire.DOUYIN_SHOP_ID)
STANDARD = ChannelConfig("ERP", "standard", wire.STANDARD_SECRET, wire.STANDARD_TOKEN, api_url="https://erp.example")


def test_every_kind_is_registered_by_its_value():
    assert set(KINDS) == {kind.value for kind in ChannelKind}
    assert all(KINDS[name].name == name for name in KINDS)


# --- Shopify -------------------------------------------------------------------------------------


def test_shopify_classic_headers_verify_and_key_on_the_event_id():
    order = wire.shopify_order()
    headers, body = wire.shopify_request(order, event_id="evt-1", webhook_id="wh-1")

    verified = shopify.KIND.verify(SHOP, headers, body, NOW)

    (delivery,) = verified.deliveries
    assert (delivery.key, delivery.topic, delivery.order_key) == ("evt-1", "orders/create", str(order["id"]))
    assert delivery.body == body
    assert delivery.occurred_at is not None and delivery.occurred_at.tzinfo is not None
    assert (verified.ack.status, verified.ack.body) == (200, b"")


def test_shopify_events_family_verifies_on_the_unprefixed_headers():
    headers, body = wire.shopify_request(wire.shopify_order(), events_family=True, event_id="evt-2")
    # Prove the unprefixed family is the one read: spoil the classic HMAC.
    headers["X-Shopify-Hmac-Sha256"] = "AAAA"

    (delivery,) = shopify.KIND.verify(SHOP, headers, body, NOW).deliveries

    assert delivery.key == "evt-2"


def test_shopify_only_unprefixed_headers_also_verify():
    headers, body = wire.shopify_request(wire.shopify_order(), events_family=True, event_id="evt-3")
    headers = {k: v for k, v in headers.items() if not k.startswith("X-Shopify-")}

    assert shopify.KIND.verify(SHOP, headers, body, NOW).deliveries[0].key == "evt-3"


def test_shopify_without_an_event_id_keys_on_the_webhook_id():
    headers, body = wire.shopify_request(wire.shopify_order(), webhook_id="wh-9")
    del headers["X-Shopify-Event-Id"]

    assert shopify.KIND.verify(SHOP, headers, body, NOW).deliveries[0].key == "wh-9"


def test_shopify_header_names_are_case_insensitive():
    headers, body = wire.shopify_request(wire.shopify_order(), event_id="evt-4")
    headers = {k.upper(): v for k, v in headers.items()}

    assert shopify.KIND.verify(SHOP, headers, body, NOW).deliveries[0].key == "evt-4"


@pytest.mark.parametrize("spoil", ["body", "secret", "missing", "no-secret", "no-topic"])
def test_shopify_forgeries_are_refused(spoil):
    headers, body = wire.shopify_request(
        wire.shopify_order(), secret="another" if spoil == "secret" else wire.SHOPIFY_SECRET
    )
    channel = SHOP
    if spoil == "body":
        body = body.replace(b'"2"', b'"3"', 1) + b" "
    if spoil == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    if spoil == "no-secret":
        channel = ChannelConfig("SHOP1", "shopify", None, shop_domain=wire.SHOP_DOMAIN)
    if spoil == "no-topic":
        del headers["X-Shopify-Topic"]

    with pytest.raises(Forged):
        shopify.KIND.verify(channel, headers, body, NOW)


def test_shopify_another_shop_signing_with_the_same_app_secret_is_refused():
    headers, body = wire.shopify_request(wire.shopify_order(), shop_domain="other.myshopify.com")

    with pytest.raises(Forged):
        shopify.KIND.verify(SHOP, headers, body, NOW)
    unbound = ChannelConfig("SHOP1", "shopify", wire.SHOPIFY_SECRET)
    assert shopify.KIND.verify(unbound, headers, body, NOW).deliveries


# --- WooCommerce ---------------------------------------------------------------------------------


def test_woocommerce_signature_verifies_with_the_entity_decoded_secret():
    assert "&amp;" in wire.WOO_SECRET  # the trap: the key is the decoded secret
    headers, body = wire.woo_request(wire.woo_order(), "order.created", webhook_id=3, delivery_id="41")

    verified = woocommerce.KIND.verify(WOO, headers, body, NOW)

    (delivery,) = verified.deliveries
    assert delivery.topic == "order.created"
    assert delivery.order_key == "727"
    assert delivery.key.startswith("3:41:")
    assert delivery.occurred_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert verified.ack.status == 200


def test_woocommerce_decoding_is_wordpress_own_not_every_html_entity():
    assert woocommerce.wp_specialchars_decode("a&amp;b&quot;c&#039;&lt;&gt;") == "a&b\"c'<>"
    assert woocommerce.wp_specialchars_decode("caf&eacute;") == "caf&eacute;"


def test_woocommerce_secret_used_undecoded_does_not_verify():
    headers, body = wire.woo_request(wire.woo_order(), secret=wire.WOO_SECRET)
    raw_key = ChannelConfig("WOO1", "woocommerce", 'k7&Jq<2>pR"x')  # already decoded: signs the same
    assert woocommerce.KIND.verify(raw_key, headers, body, NOW).deliveries
    with pytest.raises(Forged):
        woocommerce.KIND.verify(ChannelConfig("WOO1", "woocommerce", "k7&amp;amp;Jq"), headers, body, NOW)


def test_woocommerce_save_time_ping_is_answered_200_and_stores_nothing():
    headers, body = wire.woo_ping(webhook_id=3)

    verified = woocommerce.KIND.verify(WOO, headers, body, NOW)

    assert verified.deliveries == ()
    assert verified.ack.status == 200


def test_woocommerce_an_unsigned_body_that_is_not_the_ping_is_forged():
    _, body = wire.woo_request(wire.woo_order())
    with pytest.raises(Forged):
        woocommerce.KIND.verify(WOO, {"Content-Type": "application/json"}, body, NOW)
    headers, ping = wire.woo_ping()
    with pytest.raises(Forged):  # a ping body with a signature claims to be a delivery
        woocommerce.KIND.verify(WOO, {**headers, "X-WC-Webhook-Signature": "AAAA"}, ping, NOW)


def test_woocommerce_same_second_deliveries_differ_by_body_and_repeat_by_body():
    first = wire.woo_request(wire.woo_order(status="processing"), "order.updated", delivery_id="77")
    second = wire.woo_request(wire.woo_order(status="completed"), "order.updated", delivery_id="77")
    retry = wire.woo_request(wire.woo_order(status="processing"), "order.updated", delivery_id="77")

    keys = [woocommerce.KIND.verify(WOO, h, b, NOW).deliveries[0].key for h, b in (first, second, retry)]

    assert keys[0] != keys[1]
    assert keys[0] == keys[2]


def test_woocommerce_forged_signature_is_refused():
    headers, body = wire.woo_request(wire.woo_order(), secret="not-the-secret")
    with pytest.raises(Forged):
        woocommerce.KIND.verify(WOO, headers, body, NOW)


# --- Douyin --------------------------------------------------------------------------------------


def test_douyin_ping_is_answered_success_without_a_delivery():
    headers, body = wire.douyin_request([wire.douyin_ping()])

    verified = douyin.KIND.verify(DOUYIN, headers, body, NOW)

    assert verified.deliveries == ()
    assert json.loads(verified.ack.body) == {"code": 0, "msg": "success"}
    assert (verified.ack.status, verified.ack.content_type) == (200, "application/json")


def test_douyin_each_message_of_a_push_is_its_own_delivery():
    created = wire.douyin_message(100, "6917533224570258991", msg_id="7000000000000000001")
    paid = wire.douyin_message(101, "6917533224570258991", msg_id="7000000000000000002", pay_time=1764554400)
    other = wire.douyin_message(106, "6917533224570259991", msg_id="7000000000000000003")
    headers, body = wire.douyin_request([created, paid, other])

    deliveries = douyin.KIND.verify(DOUYIN, headers, body, NOW).deliveries

    assert [(d.key, d.topic, d.order_key) for d in deliveries] == [
        ("7000000000000000001", "douyin:100", "6917533224570258991"),
        ("7000000000000000002", "douyin:101", "6917533224570258991"),
        ("7000000000000000003", "douyin:106", "6917533224570259991"),
    ]
    assert json.loads(deliveries[1].body) == paid
    assert deliveries[1].occurred_at == datetime.fromtimestamp(1764554400, UTC)


@pytest.mark.parametrize("spoil", ["secret", "app-id", "body", "missing"])
def test_douyin_forgeries_are_refused(spoil):
    messages = [wire.douyin_message(100)]
    headers, body = wire.douyin_request(messages, app_secret="wrong" if spoil == "secret" else wire.DOUYIN_APP_SECRET)
    if spoil == "app-id":
        headers, body = wire.douyin_request(messages, app_key="7999999999999999999")
    if spoil == "body":
        body = body.replace(b"100", b"106", 1)
    if spoil == "missing":
        del headers["event-sign"]

    with pytest.raises(Forged):
        douyin.KIND.verify(DOUYIN, headers, body, NOW)


def test_douyin_token_may_carry_an_access_token_after_the_app_key():
    channel = ChannelConfig("DY1", "douyin", wire.DOUYIN_APP_SECRET, f"{wire.DOUYIN_APP_KEY}:tok-given")
    headers, body = wire.douyin_request([wire.douyin_message(100)])

    assert douyin.KIND.verify(channel, headers, body, NOW).deliveries
    assert douyin.credentials(channel) == (wire.DOUYIN_APP_KEY, "tok-given")


# --- Standard Webhooks ---------------------------------------------------------------------------


def test_standard_genuine_signature_verifies_and_keys_on_webhook_id():
    event = wire.standard_event(wire.standard_data("A-1001"))
    headers, body = wire.standard_request(event, msg_id="msg_1")

    (delivery,) = standard.KIND.verify(STANDARD, headers, body, NOW).deliveries

    assert (delivery.key, delivery.topic, delivery.order_key) == ("msg_1", "order.created", "A-1001")


def test_standard_rotated_keys_any_matching_entry_verifies():
    headers, body = wire.standard_request(wire.standard_event(wire.standard_data()))
    headers["webhook-signature"] = "v1,c29tZXRoaW5nIGVsc2U= " + headers["webhook-signature"]

    assert standard.KIND.verify(STANDARD, headers, body, NOW).deliveries


@pytest.mark.parametrize("age", [timedelta(minutes=10), -timedelta(minutes=10)])
def test_standard_out_of_window_timestamp_is_stale_not_forged(age):
    now = datetime.now(UTC)  # the library's window is on the wall clock, not the module's NOW
    headers, body = wire.standard_request(wire.standard_event(wire.standard_data()), timestamp=now - age)

    with pytest.raises(Stale):
        standard.KIND.verify(STANDARD, headers, body, now)


def test_standard_stale_and_forged_is_forged():
    headers, body = wire.standard_request(
        wire.standard_event(wire.standard_data()),
        secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
        timestamp=NOW - timedelta(hours=1),
    )
    with pytest.raises(Forged):
        standard.KIND.verify(STANDARD, headers, body, NOW)


@pytest.mark.parametrize(
    "spoil",
    ["missing-id", "missing-signature", "missing-timestamp", "not-base64", "no-version", "wrong-secret", "body"],
)
def test_standard_forgeries_are_refused(spoil):
    headers, body = wire.standard_request(wire.standard_event(wire.standard_data()))
    if spoil.startswith("missing-"):
        del headers[f"webhook-{spoil.removeprefix('missing-')}"]
    if spoil == "not-base64":
        headers["webhook-signature"] = "v1,@@@not*base64"
    if spoil == "no-version":
        headers["webhook-signature"] = "garbage"
    if spoil == "wrong-secret":
        headers, body = wire.standard_request(
            wire.standard_event(wire.standard_data()), secret="whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
        )
    if spoil == "body":
        body = body.replace(b"A-1001", b"A-1002")

    with pytest.raises(Forged):
        standard.KIND.verify(STANDARD, headers, body, NOW)
