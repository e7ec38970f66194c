"""AfterShip tracking webhooks.

Signed with header ``aftership-hmac-sha256``: base64 of HMAC-SHA256 over the raw body with the
webhook secret (``OMS_AFTERSHIP_WEBHOOK_SECRET``). ``event_id`` (a UUID) is the push's key; ``msg``
is the Tracking object: ``tracking_number``, ``slug`` (the carrier), ``tag``/``subtag`` (the
current status) and ``checkpoints[]`` (oldest first, each with its own ``tag``), all merged into
the history by time and text. AfterShip has no pickup tag: the first ``InTransit`` checkpoint is
the pickup. Any 2xx is an acknowledgement.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from core.orders.status import ShipmentStatus as S
from core.shipping import carriers
from core.shipping.tracking import Push, Scan
from integrations.carriers.wire import Forged, Malformed, load, local_time, scan_key

HEADER = "aftership-hmac-sha256"
TAGS: dict[str, tuple[S, str | None]] = {
    "Pending": (S.LABEL_CREATED, None),
    "InfoReceived": (S.LABEL_CREATED, None),
    "InTransit": (S.IN_TRANSIT, None),
    "OutForDelivery": (S.OUT_FOR_DELIVERY, None),
    "AvailableForPickup": (S.OUT_FOR_DELIVERY, None),  # at a locker or station
    "AttemptFail": (S.EXCEPTION, "failed_attempt"),
    "Delivered": (S.DELIVERED, None),
    "Exception": (S.EXCEPTION, "problem"),
    "Expired": (S.EXCEPTION, "stalled"),  # no news for 30 days
}
SUBTAGS = {"Exception_003": "refused", "Exception_004": "customs", "Exception_013": "lost", "Exception_011": "returned"}


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(headers: Any, body: bytes, secret: str | None) -> Push:
    given = headers.get(HEADER)
    if not given or not secret or not hmac.compare_digest(signature(body, secret), given.strip()):
        raise Forged("aftership-hmac-sha256 does not match (or no secret configured)")
    return push_from(body)


def _status(tag: Any, subtag: Any) -> tuple[S, str | None]:
    status, reason = TAGS.get(str(tag or ""), (S.IN_TRANSIT, None))
    if status == S.EXCEPTION and str(subtag or "") in SUBTAGS:
        reason = SUBTAGS[str(subtag)]
    return status, reason


def push_from(body: bytes) -> Push:
    event = load(body)
    msg = event.get("msg") if isinstance(event, dict) else None
    if not isinstance(msg, dict) or not event.get("event_id"):
        raise Malformed("no event_id or msg")
    number, slug = str(msg.get("tracking_number") or "").strip(), str(msg.get("slug") or "").strip()
    if not number or not slug:
        raise Malformed("msg names no tracking_number or slug")
    carrier = carriers.BY_AFTERSHIP.get(slug.lower())
    scans: list[Scan] = []
    seen_transit = False
    for point in msg.get("checkpoints") or []:
        if not isinstance(point, dict):
            continue
        status, reason = _status(point.get("tag"), point.get("subtag"))
        if status == S.IN_TRANSIT and not seen_transit:
            status, seen_transit = S.PICKED_UP, True
        when, text = point.get("checkpoint_time"), str(point.get("message") or "")
        place = point.get("location") or ", ".join(str(p) for p in (point.get("city"), point.get("state")) if p)
        scans.append(Scan(local_time(when), status, text, str(place or ""), reason, scan_key(when, text)))
    current, reason = _status(msg.get("tag"), msg.get("subtag"))
    if not scans or (scans[-1].status != current and current != S.IN_TRANSIT):
        # the tracking's own status, as of the push (no checkpoint says it)
        when = msg.get("updated_at") or event.get("ts")
        moment = local_time(when) if isinstance(when, str) else _from_unix(when)
        words = str(msg.get("subtag_message") or msg.get("tag") or "")
        scans.append(Scan(moment, current, words, "", reason, scan_key("tag", msg.get("tag"), msg.get("subtag"))))
    return Push(
        provider="aftership",
        key=str(event["event_id"]),
        carrier=carrier.code if carrier else slug.upper(),
        tracking_no=number,
        scans=tuple(scans),
        body=body,
    )


def _from_unix(value: Any):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError) as error:
        raise Malformed(f"no time: {value!r}") from error
