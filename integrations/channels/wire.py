"""Small readers every kind needs: headers without case, JSON without floats, times and money.

Channel payloads carry ids beyond 2**53 (Shopify) and money as strings or as JSON numbers
(WooCommerce line prices), so JSON is read with integers kept whole and fractions as ``Decimal``:
nothing a channel sends ever passes through a float.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.channels.normalised import ChannelOrder, ChannelPayment, UpstreamState
from integrations.channels.base import Malformed

ZERO = Decimal("0")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers keyed in lower case (HTTP header names are case-insensitive)."""
    return {name.lower(): value for name, value in headers.items()}


def load(body: bytes) -> Any:
    """Parse channel JSON: integers stay ``int``, fractions become ``Decimal``."""
    return json.loads(body, parse_float=Decimal)


def dump(value: Any) -> bytes:
    """Compact UTF-8 JSON (for a message cut out of a multi-message request)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def money(value: Any) -> Decimal:
    """A decimal string or a JSON number as an exact ``Decimal`` (empty or null is zero)."""
    if value is None or value == "":
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def fen(value: Any) -> Decimal:
    """Integer fen (1/100 yuan) as yuan."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def parse_time(value: str) -> datetime:
    """ISO-8601 with an offset or ``Z``; a time without one is UTC (WooCommerce ``*_gmt``)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_unix(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def text(value: Any) -> str | None:
    """A string field with blanks as None; ids that arrive as numbers become strings."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def joined(*parts: Any, sep: str = " ") -> str | None:
    return text(sep.join(p.strip() for p in parts if isinstance(p, str) and p.strip()))


def person(first: Any, last: Any) -> str | None:
    """A name from first and last: Chinese names read family name first, with no space."""
    first, last = text(first), text(last)
    if first and last and _CJK.search(first + last):
        return last + first
    return joined(first, last)


def hmac_b64(key: bytes, body: bytes) -> str:
    """base64 of the binary HMAC-SHA256 (Shopify and WooCommerce both sign this way)."""
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two signatures (a missing one never matches)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn a payload that does not have the shape we read into ``Malformed`` (no retry helps)."""
    try:
        yield
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as error:
        raise Malformed(f"{what}: {type(error).__name__}: {error}") from error


def ship_to(**fields: Any) -> dict[str, object] | None:
    """Our ship-to shape (contact, phone, province, city, line, postcode), or None when the channel
    gave nothing to ship to (no address line, or redacted): the core holds such an order."""
    address = {key: text(fields.get(key)) for key in ("contact", "phone", "province", "city", "line", "postcode")}
    return address if address["line"] or address["city"] else None


def deleted_order(data: dict[str, Any]) -> ChannelOrder:
    """What a deletion upstream (Shopify ``orders/delete``, WooCommerce ``order.deleted``) carries:
    only the id. It reads as a cancellation, now."""
    return ChannelOrder(
        order_id=str(data["id"]),
        display_no=f"#{data['id']}",
        updated_at=datetime.now(UTC),
        state=UpstreamState.CANCELLED,
        payment=ChannelPayment.PENDING,
        currency="",
        lines=(),
        customer=None,
        ship_to=None,
        cancel_reason="deleted",
        raw=data,
    )
