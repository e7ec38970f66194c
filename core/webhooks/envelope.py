"""The body of every outbound webhook: the contract shared with the REST API's OpenAPI document.

``{"id": "evt_<domain_event.id>", "type": <event name>, "version": <event version>,
"timestamp": <when it happened, ISO 8601 with offset>, "data": <the event's payload>}``. The id is
also the ``webhook-id`` header: the same on every retry and every replay, so a receiver can
de-duplicate on it. ``data`` is what ``core.events.store.payload`` stores (enums by value, money
and dates as strings); a change to an event's fields bumps its ``version``.
"""

from __future__ import annotations

import json
from typing import Any

from core.events.catalogue import Event
from core.events.store import payload

ID_PREFIX = "evt_"
MAX_BYTES = 20_000  # Standard Webhooks: keep payloads under 20 KB


def envelope(event_id: int, event: Event) -> dict[str, Any]:
    return {
        "id": event_id_text(event_id),
        "type": event.name,
        "version": event.version,
        "timestamp": event.at.isoformat(),
        "data": payload(event),
    }


def event_id_text(event_id: int) -> str:
    return f"{ID_PREFIX}{event_id}"


def parse_event_id(text: str) -> int | None:
    """``evt_12`` or ``12`` -> 12; anything else None."""
    digits = text.strip().removeprefix(ID_PREFIX)
    if not digits.isdigit() or len(digits) > 10:
        return None
    number = int(digits)
    return number if 0 < number < 2**31 else None


def body(envelope_: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(envelope_, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
