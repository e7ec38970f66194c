"""Realistic channel payloads, and the requests each platform would send with them: signed exactly
as the platform signs (headers plus the body bytes), ready to POST to ``/webhooks/channels/<code>``.

Shapes follow real captures: Shopify's REST order (``id`` beyond 2**53, money as decimal strings,
``customer`` possibly null), WooCommerce's v3 order (line ``price`` a JSON number, ``*_gmt`` times
without offset, the body as ``wp_json_encode`` writes it: slashes escaped), Douyin's push (an array
whose ``data`` is a JSON string) and ``order.orderDetail`` (fen), and our generic Standard Webhooks
event, signed by the ``standardwebhooks`` library itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from standardwebhooks.webhooks import Webhook

SHOPIFY_SECRET = "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"
SHOPIFY_TOKEN = "shpat_0123456789abcdef0123456789abcdef"
SHOP_DOMAIN = "acme-tea.myshopify.com"
WOO_SECRET = 'k7&amp;Jq<2>pR"x'  # entities and quotes: WooCommerce decodes them before signing
WOO_TOKEN = "ck_3b1f0e9d7c5a3b1f4f1c9a7b2e8d0c6a5b3f1e9d:cs_9d7c5a3b1f4f1c9a7b2e8d0c6a5b3f1e9d7c5a3b"
DOUYIN_APP_KEY = "7134567890123456789"
DOUYIN_APP_SECRET = "2ad2355c-01d0-11f8-91dc-05a8cd1054b1"
DOUYIN_SHOP_ID = "94956"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"sixteen-byte-key-plus-eight").decode()
STANDARD_TOKEN = "std_live_0123456789abcdef"

_ids = itertools.count(1)
Request = tuple[dict[str, str], bytes]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# --- Shopify -------------------------------------------------------------------------------------


def shopify_order(
    order_id: int = 5_814_103_261_412_345_678,  # > 2**53: a float would change it
    number: int = 1001,
    lines: list[tuple[str | None, str, int, str]] = (("SHOPIFY-TEA", "Longjing 250g", 2, "128.00"),),
    *,
    updated_at: datetime | None = None,
    financial_status: str = "paid",
    gateway: str = "shopify_payments",
    customer: bool = True,
    redacted: bool = False,
    shipping: str = "10.00",
    discount: str = "0.00",
    cancelled: bool = False,
    test: bool = False,
    currency: str = "CNY",
) -> dict[str, Any]:
    """A REST order as ``orders/create`` sends it; ``redacted`` is what an app without protected
    customer data approval gets (customer null, no address, no email or phone)."""
    updated = updated_at or datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    items = [
        {
            "id": 13_580_000_000_000 + i,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{13_580_000_000_000 + i}",
            "variant_id": 44_100_000_000_000 + i,
            "product_id": 8_800_000_000_000 + i,
            "sku": sku,
            "title": title,
            "variant_title": None,
            "name": title,
            "quantity": qty,
            "price": price,
            "price_set": {"shop_money": {"amount": price, "currency_code": currency}},
            "fulfillable_quantity": qty,
            "fulfillment_status": None,
            "requires_shipping": True,
            "grams": 250,
            "tax_lines": [],
            "discount_allocations": [],
        }
        for i, (sku, title, qty, price) in enumerate(lines)
    ]
    subtotal = sum(int(q) * _cents(p) for _, _, q, p in lines)
    total = subtotal + _cents(shipping) - _cents(discount)
    address = {
        "first_name": "Fang",
        "last_name": "Wang",
        "name": "Fang Wang",
        "company": None,
        "address1": "文三路 1 号",
        "address2": "3 单元 501",
        "city": "杭州市",
        "province": "浙江省",
        "province_code": "ZJ",
        "zip": "310000",
        "country": "China",
        "country_code": "CN",
        "phone": "+86 138 0000 0000",
        "latitude": 30.27,
        "longitude": 120.15,
    }
    person = {
        "id": 7_390_000_000_000_001,
        "email": "fang.wang@example.com",
        "first_name": "Fang",
        "last_name": "Wang",
        "phone": "+8613800000000",
        "state": "enabled",
        "tags": "",
        "currency": currency,
    }
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "number": number - 1000,
        "order_number": number,
        "email": None if redacted else person["email"],
        "contact_email": None if redacted else person["email"],
        "phone": None,
        "created_at": iso(updated - timedelta(minutes=5)),
        "updated_at": iso(updated),
        "processed_at": iso(updated - timedelta(minutes=5)),
        "cancelled_at": iso(updated) if cancelled else None,
        "cancel_reason": "customer" if cancelled else None,
        "currency": currency,
        "presentment_currency": currency,
        "subtotal_price": _money(subtotal),
        "total_discounts": discount,
        "total_price": _money(total),
        "total_tax": "0.00",
        "financial_status": financial_status,
        "fulfillment_status": None,
        "gateway": gateway,
        "payment_gateway_names": ["Cash on Delivery (COD)" if gateway == "cash_on_delivery" else gateway],
        "test": test,
        "note": "请周末送达",
        "note_attributes": [],
        "tags": "",
        "customer": {"id": person["id"], "state": "enabled"} if redacted else (person if customer else None),
        "shipping_address": None if redacted else address,
        "billing_address": None if redacted else address,
        "line_items": items,
        "shipping_lines": [{"id": 4_100_000_001, "title": "Standard", "price": shipping, "code": "STD"}],
        "discount_codes": [{"code": "TEA5", "amount": discount, "type": "fixed_amount"}] if discount != "0.00" else [],
    }


def shopify_request(
    order: dict[str, Any],
    topic: str = "orders/create",
    *,
    secret: str = SHOPIFY_SECRET,
    shop_domain: str = SHOP_DOMAIN,
    events_family: bool = False,
    event_id: str | None = None,
    webhook_id: str | None = None,
    triggered_at: datetime | None = None,
) -> Request:
    """The POST Shopify makes: classic ``X-Shopify-*`` headers, or (``events_family``) both families
    as events webhooks send them."""
    body = json.dumps(order, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    fields = {
        "Hmac-Sha256": signature,
        "Topic": topic,
        "Shop-Domain": shop_domain,
        "API-Version": "2026-07",
        "Webhook-Id": webhook_id or str(uuid.uuid4()),
        "Triggered-At": (triggered_at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "Event-Id": event_id or str(uuid.uuid4()),
    }
    headers = {"Content-Type": "application/json", **{f"X-Shopify-{k}": v for k, v in fields.items()}}
    if events_family:
        headers |= {f"shopify-{k.lower()}": v for k, v in fields.items()}
        headers |= {"shopify-action": topic.rpartition("/")[2], "shopify-resource-id": str(order["id"])}
    return headers, body


# --- WooCommerce ---------------------------------------------------------------------------------


def woo_order(
    order_id: int = 727,
    lines: list[tuple[str, str, int, float]] = (("TEA-001", "龙井茶 250g", 2, 128.0),),
    *,
    status: str = "processing",
    payment_method: str = "alipay",
    modified: datetime | None = None,
    shipping: str = "10.00",
    discount: str = "0.00",
    paid: bool = True,
) -> dict[str, Any]:
    """A v3 REST order as the webhook sends it (its ``price`` per line a JSON number)."""
    moment = (modified or datetime(2026, 12, 1, 2, 0, tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)
    items = []
    for i, (sku, name, qty, price) in enumerate(lines):
        subtotal = _money(round(price * 100) * qty)
        items.append(
            {
                "id": 315 + i,
                "name": name,
                "product_id": 93 + i,
                "variation_id": 0,
                "quantity": qty,
                "tax_class": "",
                "subtotal": subtotal,
                "subtotal_tax": "0.00",
                "total": subtotal,
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
                "sku": sku,
                "price": price,
            }
        )
    subtotal = sum(_cents(item["subtotal"]) for item in items)
    person = {
        "first_name": "芳",
        "last_name": "王",
        "company": "",
        "address_1": "文三路 1 号",
        "address_2": "",
        "city": "杭州市",
        "state": "ZJ",
        "postcode": "310000",
        "country": "CN",
    }
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id:x}abc",
        "created_via": "checkout",
        "version": "9.4.2",
        "status": status,
        "currency": "CNY",
        "date_created": iso(moment + timedelta(hours=8) - timedelta(minutes=5)),
        "date_created_gmt": iso(moment - timedelta(minutes=5)),
        "date_modified": iso(moment + timedelta(hours=8)),
        "date_modified_gmt": iso(moment),
        "discount_total": discount,
        "discount_tax": "0.00",
        "shipping_total": shipping,
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": _money(subtotal + _cents(shipping) - _cents(discount)),
        "total_tax": "0.00",
        "prices_include_tax": False,
        "customer_id": 12,
        "customer_note": "",
        "billing": {**person, "email": "fang.wang@example.com", "phone": "13800000000"},
        "shipping": {**person, "phone": ""},
        "payment_method": payment_method,
        "payment_method_title": "货到付款" if payment_method == "cod" else "支付宝",
        "transaction_id": "",
        "date_paid": iso(moment + timedelta(hours=8)) if paid else None,
        "date_paid_gmt": iso(moment) if paid else None,
        "date_completed": None,
        "date_completed_gmt": None,
        "cart_hash": "7d5c1c1a",
        "meta_data": [],
        "line_items": items,
        "tax_lines": [],
        "shipping_lines": [{"id": 316, "method_title": "Flat rate", "method_id": "flat_rate", "total": shipping}],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "_links": {"self": [{"href": f"https://shop.example/wp-json/wc/v3/orders/{order_id}"}]},
    }


def woo_body(payload: dict[str, Any]) -> bytes:
    """The body as ``wp_json_encode`` writes it (non-ASCII as \\u escapes, slashes escaped)."""
    return json.dumps(payload).replace("/", "\\/").encode()


def woo_request(
    payload: dict[str, Any],
    topic: str = "order.created",
    *,
    secret: str = WOO_SECRET,
    webhook_id: int = 3,
    delivery_id: str | None = None,
    source: str = "https://shop.example/",
) -> Request:
    body = woo_body(payload)
    key = _wp_decode(secret).encode()
    signature = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id or str(next(_ids)),
    }
    return headers, body


def woo_ping(webhook_id: int = 3) -> Request:
    """The unsigned POST WooCommerce makes when a webhook is saved: it must be answered 200."""
    return {"Content-Type": "application/x-www-form-urlencoded"}, f"webhook_id={webhook_id}".encode()


def _wp_decode(secret: str) -> str:
    for entity, char in (("&#039;", "'"), ("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        secret = secret.replace(entity, char)
    return secret


# --- Douyin --------------------------------------------------------------------------------------


def douyin_detail(
    order_id: str = "6917533224570258991",
    lines: list[tuple[str, str, int, int]] = (("TEA-001", "龙井茶 250g", 2, 12800),),
    *,
    status: int = 105,
    pay_type: int = 1,
    updated: datetime | None = None,
    post_amount: int = 1000,
    promotion_amount: int = 500,
) -> dict[str, Any]:
    """``order.orderDetail``'s ``shop_order_detail``: fen everywhere, the address masked and encrypted."""
    moment = int((updated or datetime(2026, 12, 1, 2, 0, tzinfo=UTC)).timestamp())
    skus = [
        {
            "order_id": f"{order_id[:-1]}{i + 2}",
            "parent_order_id": order_id,
            "code": code,
            "out_sku_id": "",
            "sku_id": 1_750_000_000_000_000 + i,
            "product_id": 3_473_196_049_974_326_153 + i,
            "product_name": name,
            "item_num": qty,
            "origin_amount": unit,
            "sum_amount": unit * qty,
            "order_status": status,
        }
        for i, (code, name, qty, unit) in enumerate(lines)
    ]
    order_amount = sum(s["sum_amount"] for s in skus) + post_amount
    return {
        "order_id": order_id,
        "shop_id": int(DOUYIN_SHOP_ID),
        "shop_name": "订单专用_测试店三",
        "order_level": 2,
        "order_status": status,
        "order_status_desc": {1: "待支付", 105: "已支付", 2: "备货中", 3: "已发货", 4: "已取消"}.get(status, ""),
        "main_status": status,
        "pay_type": pay_type,
        "create_time": moment - 300,
        "update_time": moment,
        "pay_time": moment - 240 if status != 1 else 0,
        "order_amount": order_amount,
        "pay_amount": order_amount - promotion_amount,
        "post_amount": post_amount,
        "promotion_amount": promotion_amount,
        "buyer_words": "送人的，别放发票",
        "seller_words": "",
        "cancel_reason": "买家取消" if status == 4 else "",
        "doudian_open_id": "1@#SGf7u/L4T728WdIaNcm6c+7SOqTObqbPh6wJBSm6lRGO+VEipIFB4EZDoWtkW1ThcrgNhg==",
        "encrypt_post_receiver": "#mk9N#Lz0Ro1FbdpQ==*CgYIASAHKAESPgo8",
        "encrypt_post_tel": "$6iSBf4KyTq0Rv==$AgYIASAHKAESPgo8*CgYIASAHKAESPgo8$1$$",
        "post_addr": {
            "province": {"name": "浙江省", "id": "33"},
            "city": {"name": "杭州市", "id": "330100"},
            "town": {"name": "西湖区", "id": "330106"},
            "street": {"name": "文新街道", "id": "330106007"},
            "encrypt_detail": "#Rb8Qk#CgYIASAHKAESPgo8ElS9ZRE=*CgYIASAHKAESPgo8$1$$",
        },
        "mask_post_receiver": "王***",
        "mask_post_tel": "1********00",
        "mask_post_addr": {
            "province": {"name": "浙江省", "id": "33"},
            "city": {"name": "杭州市", "id": "330100"},
            "town": {"name": "西湖区", "id": "330106"},
            "street": {"name": "文新街道", "id": "330106007"},
            "detail": "文三路***号",
        },
        "open_address_id": "#OdfQ5MRY8CwIUcAc4ZWxWTkylwttMX0FRCxV1IcXrXWS",
        "sku_order_list": skus,
    }


def douyin_message(tag: int, p_id: str = "6917533224570258991", *, msg_id: str | None = None, **data: Any) -> dict:
    """One push message: ``data`` is a JSON string (decoded a second time by the receiver)."""
    body = {"p_id": int(p_id), "s_ids": [int(p_id[:-1] + "2")], "shop_id": int(DOUYIN_SHOP_ID), **data}
    if tag == 100:
        body.setdefault("order_status", 1)
        body.setdefault("create_time", int(datetime.now(UTC).timestamp()))
    if tag == 106:
        body.setdefault("cancel_time", int(datetime.now(UTC).timestamp()))
        body.setdefault("cancel_reason", "买家取消")
    return {"tag": str(tag), "msg_id": msg_id or f"7{next(_ids):018d}", "data": json.dumps(body, ensure_ascii=False)}


def douyin_ping() -> dict:
    return {"tag": "0", "msg_id": "0", "data": json.dumps({"shop_id": int(DOUYIN_SHOP_ID)})}


def douyin_request(
    messages: list[dict], *, app_key: str = DOUYIN_APP_KEY, app_secret: str = DOUYIN_APP_SECRET
) -> Request:
    body = json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode()
    sign = hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()
    return {"Content-Type": "application/json", "app-id": app_key, "event-sign": sign}, body


# --- Standard Webhooks ---------------------------------------------------------------------------


def standard_data(
    order_id: str = "A-1001",
    lines: list[tuple[str, str, int, str]] = (("TEA-001", "龙井茶 250g", 2, "128.00"),),
    *,
    status: str = "open",
    payment: str = "paid",
    updated: datetime | None = None,
    customer: bool = True,
    shipping: str = "10.00",
    discount: str = "5.00",
) -> dict[str, Any]:
    subtotal = sum(q * _cents(p) for _, _, q, p in lines)
    return {
        "id": order_id,
        "number": f"#{order_id}",
        "updated_at": iso(updated or datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
        "status": status,
        "payment": payment,
        "currency": "CNY",
        "customer": {"id": "C-7", "name": "王芳", "phone": "13800000000", "email": "fang@example.com"}
        if customer
        else None,
        "ship_to": {
            "contact": "王芳",
            "phone": "13800000000",
            "province": "浙江省",
            "city": "杭州市",
            "line": "西湖区文三路 1 号",
            "postcode": "310000",
        }
        if customer
        else None,
        "lines": [{"sku": s, "title": t, "qty": q, "unit_price": p} for s, t, q, p in lines],
        "shipping": shipping,
        "discount": discount,
        "total": _money(subtotal + _cents(shipping) - _cents(discount)),
        "note": None,
    }


def standard_event(data: dict[str, Any], event_type: str = "order.created") -> dict[str, Any]:
    return {"type": event_type, "timestamp": data["updated_at"], "data": data}


def standard_request(
    event: dict[str, Any],
    *,
    secret: str = STANDARD_SECRET,
    msg_id: str | None = None,
    timestamp: datetime | None = None,
) -> Request:
    """Signed by the spec's reference library, as a conforming sender signs."""
    body = json.dumps(event, ensure_ascii=False).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    moment = timestamp or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, moment, body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }, body


def _cents(amount: str | float) -> int:
    return int(Decimal(str(amount)) * 100)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
