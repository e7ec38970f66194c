"""Standard Webhooks: any system that signs our generic order JSON per standardwebhooks.com.

Secrets: ``OMS_CHANNEL_<CODE>_SECRET`` is the endpoint's signing secret, ``whsec_`` + base64 of
24–64 random bytes (the HMAC key is the decoded bytes); ``OMS_CHANNEL_<CODE>_TOKEN`` is the bearer
token for the sender's orders API at ``api_url``, used only for reconciliation.

Verification is the spec's reference library (``standardwebhooks``): headers ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (space-separated ``v1,<base64>``
entries, any of which may match: key rotation), signed content ``<id>.<timestamp>.<body>``, a
5-minute tolerance on the library's own clock. Missing headers or no matching signature are
``Forged``; a genuine signature on a timestamp outside the window is ``Stale``. The delivery key is
``webhook-id`` (the same on the sender's retries).

The generic order event (money as decimal strings; times ISO-8601 with an offset)::

    {"type": "order.created" | "order.updated" | "order.cancelled",
     "timestamp": "2026-12-01T10:00:00+08:00",
     "data": {
       "id": "A-1001",                 # the sender's order id: one OMS order per id
       "number": "#1001",              # what people call it (defaults to id)
       "updated_at": "2026-12-01T10:00:00+08:00",   # the latest state wins by this
       "status": "open" | "cancelled",
       "payment": "paid" | "pending" | "cod",
       "currency": "CNY",
       "customer": {"id": "C-7", "name": "王芳", "phone": "13800000000", "email": "w@example.com"} | null,
       "ship_to": {"contact": "王芳", "phone": "13800000000", "province": "浙江省", "city": "杭州市",
                   "line": "西湖区文三路 1 号", "postcode": "310000"} | null,
       "lines": [{"sku": "TEA-001", "title": "龙井 250g", "qty": 2, "unit_price": "88.00"}],
       "shipping": "10.00", "discount": "5.00", "total": "181.00",
       "note": "请尽快发货" | null}}

``order.cancelled`` cancels whatever ``status`` says. Reconciliation: ``GET {api_url}/orders?
updated_since=<ISO>`` with ``Authorization: Bearer <token>`` answers ``{"data": [<data objects>],
"has_more": bool, "next": <absolute URL of the next page> | null}``; pages are followed until
``next`` is null.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.channels.normalised import (
    ChannelCustomer,
    ChannelKind,
    ChannelLine,
    ChannelOrder,
    ChannelPayment,
    UpstreamState,
)
from integrations.channels.base import Ack, ChannelConfig, Delivery, Forged, Malformed, Stale, Verified
from integrations.channels.wire import load, lowered, money, parse_time, reading, same, ship_to, text

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SHIP_TO = ("contact", "phone", "province", "city", "line", "postcode")
ORDER_TYPES = {"order.created", "order.updated", "order.cancelled"}


class Standard:
    name = ChannelKind.STANDARD.value

    def verify(self, channel: ChannelConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> Verified:
        h = {name: value for name, value in lowered(headers).items() if name in HEADERS}
        if len(h) < len(HEADERS) or not all(h.values()) or not channel.secret:
            raise Forged("missing Standard Webhooks headers (or no secret)")
        webhook = Webhook(channel.secret)
        try:
            webhook.verify(body, h, json_parse=False)
        # binascii.Error: a non-base64 signature entry; ValueError: an entry without "v1,".
        except (WebhookVerificationError, binascii.Error, ValueError) as error:
            if _genuine(webhook, h, body):
                raise Stale(f"webhook-timestamp {h['webhook-timestamp']} is outside the tolerance") from error
            raise Forged(str(error)) from error
        event = _object(body)
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        delivery = Delivery(
            key=h["webhook-id"],
            topic=str(event.get("type") or ""),
            order_key=text(data.get("id")),
            body=body,
            occurred_at=_time_or_none(event.get("timestamp")),
            headers={"webhook-id": h["webhook-id"], "webhook-timestamp": h["webhook-timestamp"]},
        )
        return Verified(deliveries=(delivery,), ack=Ack(200))

    async def orders(self, channel: ChannelConfig, topic: str, body: bytes, api: ClientSession) -> list[ChannelOrder]:
        if not topic:
            raise Malformed("a Standard Webhooks body that is not a JSON event with a type")
        if topic not in ORDER_TYPES:
            return []
        with reading(f"Standard {topic}"):
            return [order_from(load(body)["data"], topic)]

    async def changed_since(self, channel: ChannelConfig, since: datetime, api: ClientSession) -> list[ChannelOrder]:
        url: str | None = f"{(channel.api_url or '').rstrip('/')}/orders"
        params: dict[str, str] | None = {"updated_since": since.astimezone(UTC).isoformat()}
        found: list[ChannelOrder] = []
        while url:
            async with api.get(url, params=params, headers={"Authorization": f"Bearer {channel.token or ''}"}) as resp:
                resp.raise_for_status()
                page = load(await resp.read())
            with reading("Standard orders list"):
                found.extend(order_from(data, "order.updated") for data in page["data"])
            url, params = (page.get("next") if page.get("has_more") or page.get("next") else None), None
        return found


def _genuine(webhook: Webhook, h: dict[str, str], body: bytes) -> bool:
    """Whether any v1 entry is the true signature for the timestamp given (the library refused it
    for its age, then), using the library's own signing."""
    try:
        moment = datetime.fromtimestamp(float(h["webhook-timestamp"]), tz=UTC)
        expected = webhook.sign(h["webhook-id"], moment, body.decode()).split(",", 1)[1]
    except (ValueError, OverflowError, OSError):
        return False
    entries = (entry.partition(",") for entry in h["webhook-signature"].split())
    return any(version == "v1" and same(expected, signature) for version, _, signature in entries)


def _object(body: bytes) -> dict[str, Any]:
    try:
        event = load(body)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def _time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def order_from(data: dict[str, Any], event_type: str) -> ChannelOrder:
    """A generic order ``data`` object as a ``ChannelOrder``."""
    cancelled = event_type == "order.cancelled" or data.get("status") == UpstreamState.CANCELLED.value
    address = data.get("ship_to") or {}
    return ChannelOrder(
        order_id=str(data["id"]),
        display_no=str(data.get("number") or data["id"]),
        updated_at=parse_time(data["updated_at"]),
        state=UpstreamState.CANCELLED if cancelled else UpstreamState.OPEN,
        payment=ChannelPayment(data.get("payment") or ChannelPayment.PENDING.value),
        currency=data.get("currency") or "",
        lines=tuple(
            ChannelLine(
                channel_sku=text(line.get("sku")),
                title=line.get("title") or "",
                qty=int(line["qty"]),
                unit_price=money(line["unit_price"]),
            )
            for line in data.get("lines") or ()
        ),
        customer=_customer(data.get("customer")),
        ship_to=ship_to(**{key: address.get(key) for key in SHIP_TO}),
        shipping=money(data.get("shipping")),
        discount=money(data.get("discount")),
        total=money(data.get("total")),
        note=text(data.get("note")),
        raw=data,
    )


def _customer(customer: dict[str, Any] | None) -> ChannelCustomer | None:
    if not customer:
        return None
    return ChannelCustomer(
        channel_customer_id=text(customer.get("id")),
        name=text(customer.get("name")),
        phone=text(customer.get("phone")),
        email=text(customer.get("email")),
    )


KIND = Standard()
