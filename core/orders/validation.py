"""Checks an order must pass on entry; each failure is a typed hold reason a person can fix.

Pure functions over plain data, so the rules are tested without a database and the same checks
run again when someone re-validates a held order.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.catalog.search import nearest_sku
from core.orders.status import HoldReason, PaymentTerms

__all__ = ["Problem", "nearest_sku", "valid_phone"]

# Mainland mobile numbers, or a landline with area code (010-12345678); an optional +86 prefix.
_PHONE = re.compile(r"^(?:\+?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
# International numbers for customers abroad (E.164).
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass(frozen=True)
class Problem:
    """One reason an order cannot go ahead yet."""

    code: HoldReason
    field: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "field": self.field, "message": self.message, "params": dict(self.params)}


def valid_phone(phone: str) -> bool:
    compact = re.sub(r"[\s()]", "", phone)
    return bool(_PHONE.match(compact) or _E164.match(compact))


def check_skus(skus: Sequence[str], known: Collection[str], inactive: Collection[str] = ()) -> list[Problem]:
    problems = []
    for index, sku in enumerate(skus, 1):
        if sku in inactive:
            problems.append(Problem(HoldReason.STOCK, f"lines[{index}].sku", f"{sku} is no longer sold.", {"sku": sku}))
        elif sku not in known:
            suggestion = nearest_sku(sku, known)
            hint = f" Did you mean {suggestion}?" if suggestion else ""
            problems.append(
                Problem(
                    HoldReason.DATA,
                    f"lines[{index}].sku",
                    f"Unknown SKU {sku}.{hint}",
                    {"sku": sku, "suggestion": suggestion},
                )
            )
    return problems


def check_address(ship_to: Mapping[str, Any], customer_phone: str | None) -> list[Problem]:
    problems = []
    if not ship_to:
        return [Problem(HoldReason.ADDRESS, "ship_to", "The customer has no delivery address.")]
    for key, label in (("city", "city"), ("line", "street address")):
        if not str(ship_to.get(key) or "").strip():
            problems.append(Problem(HoldReason.ADDRESS, f"ship_to.{key}", f"The delivery address has no {label}."))
    line = str(ship_to.get("line") or "").strip()
    if line and len(line) < 4:
        problems.append(
            Problem(HoldReason.ADDRESS, "ship_to.line", f"The street address {line!r} is too short to deliver to.")
        )
    phone = ship_to.get("phone") or customer_phone
    if not phone:
        problems.append(Problem(HoldReason.ADDRESS, "ship_to.phone", "No contact phone for the delivery."))
    elif not valid_phone(str(phone)):
        problems.append(
            Problem(
                HoldReason.ADDRESS, "ship_to.phone", f"The phone number {phone} is not valid.", {"phone": str(phone)}
            )
        )
    return problems


def check_channel_customer(name: str | None, phone: str | None, email: str | None) -> list[Problem]:
    """A channel order whose buyer came without any way to reach them (redacted personal data, a
    guest checkout): someone must find out who it is before it ships."""
    if phone or email:
        return []
    return [
        Problem(
            HoldReason.DATA,
            "customer",
            f"The channel sent no phone or e-mail for the buyer {name or ''}".strip() + ".",
            {"customer": name or ""},
        )
    ]


def check_credit(terms: PaymentTerms, total: Decimal, outstanding: Decimal, limit: Decimal) -> list[Problem]:
    """Credit-term orders must fit within the customer's remaining credit."""
    if terms != PaymentTerms.CREDIT:
        return []
    headroom = limit - outstanding
    if total <= headroom:
        return []
    return [
        Problem(
            HoldReason.CREDIT,
            "payment_terms",
            f"Over the credit limit: order {total}, outstanding {outstanding}, limit {limit}.",
            {
                "total": str(total),
                "outstanding": str(outstanding),
                "limit": str(limit),
                "headroom": str(max(headroom, Decimal("0.00"))),
            },
        )
    ]


def check_price_policy(
    discount_percent: Decimal, max_discount_percent: Decimal, lines_below_cost: Sequence[str]
) -> list[Problem]:
    """Discounts beyond the limit, or selling below cost, need someone to look at the price."""
    problems = []
    if discount_percent > max_discount_percent:
        problems.append(
            Problem(
                HoldReason.PRICE,
                "discount",
                f"Discount {discount_percent}% is above the {max_discount_percent}% limit.",
                {"discount_percent": str(discount_percent), "limit": str(max_discount_percent)},
            )
        )
    for sku in lines_below_cost:
        problems.append(Problem(HoldReason.PRICE, "unit_price", f"{sku} would be sold below cost.", {"sku": sku}))
    return problems
