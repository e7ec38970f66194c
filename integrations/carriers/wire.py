"""What the carrier pushes share: the refusals, times in the parcels' local zone, stable scan keys."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class Forged(Exception):
    """The signature does not match (or is missing): answer 401, store nothing."""


class Malformed(Exception):
    """Signed, but not the shape the provider sends: answer 400, store nothing."""


def load(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise Malformed(f"not JSON: {error}") from error


def local_time(value: Any) -> datetime:
    """An ISO-8601 time; one without an offset is China time (Kuaidi100's ``ftime``, most
    AfterShip checkpoints of Chinese carriers)."""
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"not a time: {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise Malformed(f"not a time: {value!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def scan_key(*parts: Any) -> str:
    """A scan's key from its content, the same on every re-push of the history."""
    return "sha256:" + hashlib.sha256("|".join(str(p or "") for p in parts).encode()).hexdigest()
