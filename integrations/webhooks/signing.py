"""Standard Webhooks 1.0 signing: ``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``,
keyed by the base64-decoded bytes of the endpoint's ``whsec_`` secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

from core.webhooks.service import secret_key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }
