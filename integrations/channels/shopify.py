"""Shopify: HMAC-checked order webhooks, the REST order JSON, and the Admin REST orders list.

Secrets: ``OMS_CHANNEL_<CODE>_SECRET`` is the key that signs the webhooks (the app's client
secret, or the key shown under *Settings > Notifications > Webhooks* for webhooks made there);
``OMS_CHANNEL_<CODE>_TOKEN`` is an Admin API access token (``shpat_…``) with ``read_orders``, used
only for reconciliation. ``shop_domain`` (``acme.myshopify.com``), when set, must match
``X-Shopify-Shop-Domain``; ``api_url`` overrides ``https://<shop_domain>`` (tests, proxies).

Both header families are accepted: the classic ``X-Shopify-*`` and the unprefixed ``shopify-*``
of "events" webhooks (which send both; the official validator prefers the unprefixed one when
``shopify-hmac-sha256`` is present). The delivery key is the event id (the same across duplicates
of one event) else the webhook id.

Reading an order: ``financial_status`` paid, partially_paid, partially_refunded or refunded is
PAID; otherwise a cash-on-delivery gateway is COD; anything else (pending, authorized, voided,
expired) PENDING. ``cancelled_at`` or the ``orders/cancelled`` topic is CANCELLED, as is
``orders/delete`` (whose body is only ``{"id": …}``). Since API 2022-10 Shopify redacts customer
data for apps without approval: a customer with no name, email or phone is None, and so is an
address with no line or city; the core puts such an order on hold rather than refusing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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

API_VERSION = "2026-07"
PAGE_SIZE = 250
PAID = {"paid", "partially_paid", "partially_refunded", "refunded"}
COD_GATEWAYS = {"cash on delivery (cod)", "cash_on_delivery", "cod"}
KEPT_HEADERS = ("topic", "shop-domain", "api-version", "webhook-id", "event-id", "triggered-at")


class Shopify:
    name = ChannelKind.SHOPIFY.value

    def verify(self, channel: ChannelConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> Verified:
        h = _family(lowered(headers))
        if not channel.secret or not same(hmac_b64(channel.secret.encode(), body), h.get("hmac-sha256")):
            raise Forged("Shopify HMAC does not match")
        if channel.shop_domain and (h.get("shop-domain") or "").lower() != channel.shop_domain.lower():
            raise Forged(f"shop domain {h.get('shop-domain')!r} is not {channel.shop_domain!r}")
        key = h.get("event-id") or h.get("webhook-id")
        if not key or not h.get("topic"):
            raise Forged("no topic, or neither event id nor webhook id (the official validator requires them)")
        delivery = Delivery(
            key=key,
            topic=h["topic"],
            order_key=_order_key(body),
            body=body,
            occurred_at=_time_or_none(h.get("triggered-at")),
            headers={name: h[name] for name in KEPT_HEADERS if name in h},
        )
        return Verified(deliveries=(delivery,), ack=Ack(200))

    async def orders(self, channel: ChannelConfig, topic: str, body: bytes, api: ClientSession) -> list[ChannelOrder]:
        if not topic.startswith("orders/"):
            return []
        with reading(f"Shopify {topic}"):
            return [order_from(load(body), topic)]

    async def changed_since(self, channel: ChannelConfig, since: datetime, api: ClientSession) -> list[ChannelOrder]:
        base = channel.api_url or f"https://{channel.shop_domain}"
        url: str | None = f"{base.rstrip('/')}/admin/api/{API_VERSION}/orders.json"
        params: dict[str, str] | None = {
            "status": "any",
            "updated_at_min": since.astimezone(UTC).isoformat(),
            "limit": str(PAGE_SIZE),
        }
        found: list[ChannelOrder] = []
        while url:
            async with api.get(url, params=params, headers={"X-Shopify-Access-Token": channel.token or ""}) as resp:
                resp.raise_for_status()
                page = load(await resp.read())
                next_link = resp.links.get("next")
            with reading("Shopify orders.json"):
                found.extend(order_from(order, "orders/updated") for order in page["orders"])
            # The next link carries page_info and nothing else may be repeated beside it.
            url, params = (str(next_link["url"]), None) if next_link else (None, None)
        return found


def _family(h: dict[str, str]) -> dict[str, str]:
    """The Shopify headers without their prefix, from the family that carries the HMAC."""
    prefix = "shopify-" if "shopify-hmac-sha256" in h else "x-shopify-"
    return {name[len(prefix) :]: value for name, value in h.items() if name.startswith(prefix)}


def _order_key(body: bytes) -> str | None:
    try:
        data = load(body)
    except ValueError:
        return None
    return text(data.get("id")) if isinstance(data, dict) else None


def _time_or_none(value: str | None) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def order_from(data: dict[str, Any], topic: str) -> ChannelOrder:
    """A Shopify REST order (webhook body or ``orders.json`` entry) as a ``ChannelOrder``."""
    if topic == "orders/delete":
        return deleted_order(data)
    cancelled = bool(data.get("cancelled_at")) or topic == "orders/cancelled"
    return ChannelOrder(
        order_id=str(data["id"]),
        display_no=data.get("name") or f"#{data.get('order_number', data['id'])}",
        updated_at=parse_time(data["updated_at"]),
        state=UpstreamState.CANCELLED if cancelled else UpstreamState.OPEN,
        payment=_payment(data),
        currency=data.get("currency") or "",
        lines=tuple(_line(item) for item in data.get("line_items") or ()),
        customer=_customer(data),
        ship_to=_ship_to(data.get("shipping_address")),
        shipping=sum((money(s.get("price")) for s in data.get("shipping_lines") or ()), money(0)),
        discount=money(data.get("total_discounts")),
        total=money(data.get("total_price")),
        note=text(data.get("note")),
        cancel_reason=text(data.get("cancel_reason")) if cancelled else None,
        test=bool(data.get("test")),
        raw=data,
    )


def _payment(data: dict[str, Any]) -> ChannelPayment:
    if data.get("financial_status") in PAID:
        return ChannelPayment.PAID
    gateways = [*(data.get("payment_gateway_names") or ()), data.get("gateway") or ""]
    if any(str(g).strip().lower() in COD_GATEWAYS for g in gateways):
        return ChannelPayment.COD
    return ChannelPayment.PENDING


def _line(item: dict[str, Any]) -> ChannelLine:
    return ChannelLine(
        channel_sku=text(item.get("sku")),
        title=item.get("title") or item.get("name") or "",
        qty=int(item["quantity"]),
        unit_price=money(item["price"]),
        variant_id=text(item.get("variant_id")),
    )


def _customer(data: dict[str, Any]) -> ChannelCustomer | None:
    customer = data.get("customer") or {}
    name = person(customer.get("first_name"), customer.get("last_name"))
    email = text(customer.get("email")) or text(data.get("email")) or text(data.get("contact_email"))
    phone = text(customer.get("phone")) or text(data.get("phone"))
    if not (name or email or phone):
        return None
    return ChannelCustomer(channel_customer_id=text(customer.get("id")), name=name, phone=phone, email=email)


def _ship_to(address: dict[str, Any] | None) -> dict[str, object] | None:
    if not address:
        return None
    return ship_to(
        contact=text(address.get("name")) or person(address.get("first_name"), address.get("last_name")),
        phone=address.get("phone"),
        province=address.get("province"),
        city=address.get("city"),
        line=joined(address.get("address1"), address.get("address2")),
        postcode=address.get("zip"),
    )


KIND = Shopify()
