"""Carriers and 3PLs posting directly, signed per Standard Webhooks (``OMS_CARRIER_WEBHOOK_SECRET``).

Verification is the reference library, as for the sales channels (``integrations.channels.
standard``); ``webhook-id`` is the push's key. The body is one scan::

    {"carrier": "SF", "tracking_number": "SF1234567890", "status": "in_transit",
     "occurred_at": "2026-12-01T10:00:00+08:00", "location": "杭州", "description": "已到达杭州中转场",
     "reason": null}

``carrier`` is any of a carrier's names; ``status`` one of ours; ``reason`` an exception's.
"""

from __future__ import annotations

import binascii
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.orders.status import ShipmentStatus
from core.shipping import carriers
from core.shipping.tracking import Push, Scan
from integrations.carriers.wire import Forged, Malformed, load, local_time

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verify(headers: Any, body: bytes, secret: str | None) -> Push:
    h = {name: headers.get(name) for name in HEADERS}
    if not all(h.values()) or not secret:
        raise Forged("missing Standard Webhooks headers (or no secret configured)")
    try:
        Webhook(secret).verify(body, h, json_parse=False)
    except (WebhookVerificationError, binascii.Error, ValueError) as error:
        raise Forged(str(error)) from error
    return push_from(str(h["webhook-id"]), body)


def push_from(key: str, body: bytes) -> Push:
    data = load(body)
    if not isinstance(data, dict):
        raise Malformed("not a JSON object")
    name, number = str(data.get("carrier") or "").strip(), str(data.get("tracking_number") or "").strip()
    if not name or not number:
        raise Malformed("no carrier or tracking_number")
    try:
        status = ShipmentStatus(str(data.get("status")))
    except ValueError as error:
        raise Malformed(f"unknown status {data.get('status')!r}") from error
    carrier = carriers.find(name)
    reason = data.get("reason") or ("problem" if status == ShipmentStatus.EXCEPTION else None)
    scan = Scan(
        occurred_at=local_time(data.get("occurred_at")),
        status=status,
        description=str(data.get("description") or ""),
        location=str(data.get("location") or ""),
        reason=str(reason)[:32] if reason else None,
        key=key,
    )
    return Push("standard", key, carrier.code if carrier else name.upper(), number, (scan,), body)
