"""WooCommerce: signed order webhooks, the save-time ping, the v3 order JSON and the REST list.

Secrets: ``OMS_CHANNEL_<CODE>_SECRET`` is the webhook's *Secret* field (WooCommerce > Settings >
Advanced > Webhooks); ``OMS_CHANNEL_<CODE>_TOKEN`` is a REST API key pair as ``ck_…:cs_…`` with
read access, used only for reconciliation. ``api_url`` is the shop's home URL
(``https://shop.example``); the REST path is appended.

Traps from ``class-wc-webhook.php``: the HMAC key is ``wp_specialchars_decode(secret,
ENT_QUOTES)``, so a secret with ``&amp;`` or quotes is decoded the same way before use (only the
entities WordPress decodes: ``html.unescape`` would decode more). Saving a webhook first POSTs an
unsigned form body ``webhook_id=<n>`` and refuses to save unless the answer is exactly 200. The
delivery id repeats within one second, so the delivery key is webhook id + delivery id + the body's
sha256.

Reading an order: status cancelled, refunded, failed or trash is CANCELLED, as is the
``order.deleted`` topic (body ``{"id": N}``). Payment method ``cod`` is COD (WooCommerce sets
``date_paid`` when a COD order reaches processing, so it cannot tell); else ``date_paid_gmt`` or
status processing/completed is PAID; else PENDING. The unit price is the line ``subtotal`` over the
quantity (before coupons: the line ``price`` is after them, and the coupons are ``discount_total``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import ClientSession

from core.channels.normalised import (
    ChannelCustomer,
    ChannelKind,
    ChannelLine,
    ChannelOrder,
    ChannelPayment,
    UpstreamState,
)
from integrations.channels.base import Ack, ChannelConfig, Delivery, Forged, Verified
from integrations.channels.wire import (
    deleted_order,
    hmac_b64,
    joined,
    load,
    lowered,
    money,
    parse_time,
    person,
    reading,
    same,
    ship_to,
    text,
)

PAGE_SIZE = 100
CANCELLED = {"cancelled", "refunded", "failed", "trash"}
PAID_STATUSES = {"processing", "completed"}
ORDER_TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored"}
KEPT_HEADERS = ("x-wc-webhook-source", "x-wc-webhook-topic", "x-wc-webhook-id", "x-wc-webhook-delivery-id")
# wp_specialchars_decode(..., ENT_QUOTES): the entities WordPress turns back, in one strtr pass.
_WP_ENTITIES = {
    "&#039;": "'",
    "&#x27;": "'",
    "&quot;": '"',
    "&#034;": '"',
    "&#x22;": '"',
    "&lt;": "<",
    "&#060;": "<",
    "&gt;": ">",
    "&#062;": ">",
    "&amp;": "&",
    "&#038;": "&",
    "&#x26;": "&",
}
_WP_ENTITY = re.compile("|".join(re.escape(e) for e in sorted(_WP_ENTITIES, key=len, reverse=True)), re.IGNORECASE)
_PING = re.compile(rb"webhook_id=\d+")


def wp_specialchars_decode(secret: str) -> str:
    """The key WooCommerce signs with, from the secret as typed."""
    return _WP_ENTITY.sub(lambda m: _WP_ENTITIES[m.group(0).lower()], secret)


class WooCommerce:
    name = ChannelKind.WOOCOMMERCE.value

    def verify(self, channel: ChannelConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> Verified:
        h = lowered(headers)
        signature = h.get("x-wc-webhook-signature")
        if signature is None and _PING.fullmatch(body.strip()):
            return Verified(deliveries=(), ack=Ack(200))
        if not channel.secret or not same(hmac_b64(wp_specialchars_decode(channel.secret).encode(), body), signature):
            raise Forged("WooCommerce signature does not match")
        if not h.get("x-wc-webhook-topic"):
            raise Forged("no X-WC-Webhook-Topic")
        webhook_id, delivery_id = h.get("x-wc-webhook-id", ""), h.get("x-wc-webhook-delivery-id", "")
        data = _object(body)
        delivery = Delivery(
            key=f"{webhook_id}:{delivery_id}:{hashlib.sha256(body).hexdigest()}",
            topic=h.get("x-wc-webhook-topic", ""),
            order_key=text(data.get("id")),
            body=body,
            occurred_at=_modified(data),
            headers={name: h[name] for name in KEPT_HEADERS if name in h},
        )
        return Verified(deliveries=(delivery,), ack=Ack(200))

    async def orders(self, channel: ChannelConfig, topic: str, body: bytes, api: ClientSession) -> list[ChannelOrder]:
        if topic not in ORDER_TOPICS:
            return []
        with reading(f"WooCommerce {topic}"):
            return [order_from(load(body), topic)]

    async def changed_since(self, channel: ChannelConfig, since: datetime, api: ClientSession) -> list[ChannelOrder]:
        auth = {"Authorization": "Basic " + base64.b64encode((channel.token or "").encode()).decode()}  # key:secret
        url = f"{(channel.api_url or '').rstrip('/')}/wp-json/wc/v3/orders"
        params = {
            # "after" is strict and to the second: a second earlier keeps "at or after" (imports are idempotent)
            "modified_after": (since.astimezone(UTC) - timedelta(seconds=1))
            .replace(tzinfo=None)
            .isoformat("T", "seconds"),
            "dates_are_gmt": "true",  # otherwise modified_after is read in the shop's timezone
            "per_page": str(PAGE_SIZE),
            "orderby": "modified",
            "order": "asc",
        }
        found: list[ChannelOrder] = []
        page, pages = 1, 1
        while page <= pages:
            async with api.get(url, params={**params, "page": str(page)}, headers=auth) as resp:
                resp.raise_for_status()
                batch = load(await resp.read())
                pages = int(resp.headers.get("X-WP-TotalPages", "1"))
            with reading("WooCommerce orders"):
                found.extend(order_from(order, "order.updated") for order in batch)
            page += 1
        return found


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = load(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _modified(data: dict[str, Any]) -> datetime | None:
    try:
        return parse_time(data["date_modified_gmt"])
    except (KeyError, TypeError, ValueError):
        return None


def order_from(data: dict[str, Any], topic: str) -> ChannelOrder:
    """A WooCommerce v3 order (webhook body or REST list entry) as a ``ChannelOrder``."""
    if topic == "order.deleted":
        return deleted_order(data)
    billing, shipping = data.get("billing") or {}, data.get("shipping") or {}
    cancelled = data.get("status") in CANCELLED
    return ChannelOrder(
        order_id=str(data["id"]),
        display_no=f"#{data.get('number') or data['id']}",
        updated_at=parse_time(data["date_modified_gmt"]),
        state=UpstreamState.CANCELLED if cancelled else UpstreamState.OPEN,
        payment=_payment(data),
        currency=data.get("currency") or "",
        lines=tuple(_line(item) for item in data.get("line_items") or ()),
        customer=_customer(data.get("customer_id"), billing),
        ship_to=ship_to(
            contact=person(shipping.get("first_name"), shipping.get("last_name"))
            or person(billing.get("first_name"), billing.get("last_name")),
            phone=shipping.get("phone") or billing.get("phone"),
            province=shipping.get("state"),
            city=shipping.get("city"),
            line=joined(shipping.get("address_1"), shipping.get("address_2")),
            postcode=shipping.get("postcode"),
        ),
        shipping=money(data.get("shipping_total")),
        discount=money(data.get("discount_total")),
        total=money(data.get("total")),
        note=text(data.get("customer_note")),
        cancel_reason=data.get("status") if cancelled else None,
        raw=data,
    )


def _payment(data: dict[str, Any]) -> ChannelPayment:
    if data.get("payment_method") == "cod":
        return ChannelPayment.COD
    if data.get("date_paid_gmt") or data.get("date_paid") or data.get("status") in PAID_STATUSES:
        return ChannelPayment.PAID
    return ChannelPayment.PENDING


def _line(item: dict[str, Any]) -> ChannelLine:
    qty = int(item["quantity"])
    if item.get("subtotal") not in (None, "") and qty:
        unit = money(item["subtotal"]) / qty
        if unit != unit.quantize(Decimal("0.0001")):
            unit = unit.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    else:
        unit = money(item.get("price"))  # a JSON number, read as Decimal, never a float
    variation = item.get("variation_id") or item.get("product_id")
    return ChannelLine(
        channel_sku=text(item.get("sku")),
        title=item.get("name") or "",
        qty=qty,
        unit_price=unit,
        variant_id=text(variation) if variation else None,
    )


def _customer(customer_id: Any, billing: dict[str, Any]) -> ChannelCustomer | None:
    name = person(billing.get("first_name"), billing.get("last_name"))
    email, phone = text(billing.get("email")), text(billing.get("phone"))
    if not (name or email or phone):
        return None
    buyer = text(customer_id) if customer_id else None  # 0 is a guest
    return ChannelCustomer(channel_customer_id=buyer, name=name, phone=phone, email=email)


KIND = WooCommerce()
