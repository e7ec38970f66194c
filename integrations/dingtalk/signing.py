"""The robot HTTP callback's ``timestamp`` + ``sign`` headers (企业内部应用机器人, HTTP mode).

DingTalk signs ``timestamp + "\\n" + app secret`` with HMAC-SHA256 keyed by the app secret and sends
the base64 of it; a request more than an hour away from our clock is refused even when the
signature matches, so a captured request cannot be replayed later. The body is not signed: within
the hour each pair is accepted once (``webhook.Callback``), or a captured pair could carry any body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

WINDOW_MS = 60 * 60 * 1000


class RobotSignatureError(Exception):
    """The request is not from DingTalk (or is too old to trust)."""


def robot_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_robot(secret: str, timestamp: str | None, sign: str | None, now_ms: int) -> None:
    """Raise ``RobotSignatureError`` unless ``sign`` matches and ``timestamp`` is within the hour."""
    if not timestamp or not sign or not timestamp.isdigit():
        raise RobotSignatureError("missing or malformed timestamp/sign")
    if abs(now_ms - int(timestamp)) > WINDOW_MS:
        raise RobotSignatureError("timestamp more than an hour away from now")
    if not hmac.compare_digest(robot_sign(secret, timestamp).encode(), sign.encode()):
        raise RobotSignatureError("sign does not match")
