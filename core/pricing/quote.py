"""Price an order: pure, no database, so the same figures come out in chat, the API and tests,
and the order can store the breakdown that produced its total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.pricing.price_lists import PricedLine, PriceEntry, QuoteLine, price_lines, quantize
from core.pricing.promotions import (
    Adjustment,
    Promotion,
    bundle_adjustments,
    check_kinds,
    coupon_adjustment,
    manual_adjustment,
    manual_percent,
    spend_save_adjustment,
)

__all__ = ["Adjustment", "PriceEntry", "PricedLine", "Promotion", "Quote", "QuoteLine", "quote"]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Quote:
    lines: tuple[PricedLine, ...]
    adjustments: tuple[Adjustment, ...]
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal

    def breakdown(self) -> dict[str, Any]:
        """What the order stores so its total can be explained long after prices have changed."""
        return {
            "lines": [
                {
                    "sku": line.sku,
                    "qty": line.qty,
                    "list_price": str(line.list_price),
                    "unit_price": str(line.unit_price),
                    "line_total": str(line.line_total),
                    "price_source": line.price_source,
                }
                for line in self.lines
            ],
            "adjustments": [
                {"kind": a.kind, "name": a.name, "amount": str(a.amount), "detail": a.detail} for a in self.adjustments
            ],
            "subtotal": str(self.subtotal),
            "discount_total": str(self.discount_total),
            "total": str(self.total),
            "discount_percent": str(self.discount_percent()),
        }

    def discount_percent(self) -> Decimal:
        """The figure the price policy checks (discounts beyond a limit need review)."""
        if self.subtotal == 0:
            return ZERO
        return quantize((ZERO - self.discount_total) / self.subtotal * 100)


def quote(
    lines: Sequence[QuoteLine],
    *,
    tier: str | None,
    channel: str | None,
    price_entries: Sequence[PriceEntry],
    promotions: Sequence[Promotion],
    coupon_code: str | None = None,
    manual_discount_percent: Decimal = Decimal("0"),
    customer_group: str | None = None,
    customer: str | None = None,
) -> Quote:
    """Price the lines, then apply bundles, the best spend-save, the coupon and the manual
    discount, in that order, each on what the previous steps left; no step takes more than is
    left, which is what keeps the total at or above 0.00."""
    check_kinds(promotions)
    manual_percent(manual_discount_percent)
    priced = price_lines(
        lines, tier=tier, channel=channel, entries=price_entries, customer_group=customer_group, customer=customer
    )
    subtotal = sum((line.line_total for line in priced), ZERO)

    adjustments = bundle_adjustments(priced, promotions)
    spend_save = spend_save_adjustment(_left(subtotal, adjustments), promotions)
    if spend_save is not None:
        adjustments.append(spend_save)
    if coupon_code is not None:
        adjustments.append(coupon_adjustment(coupon_code, _left(subtotal, adjustments), subtotal, promotions))
    manual = manual_adjustment(manual_discount_percent, _left(subtotal, adjustments))
    if manual is not None:
        adjustments.append(manual)

    discount_total = sum((a.amount for a in adjustments), ZERO)
    return Quote(tuple(priced), tuple(adjustments), subtotal, discount_total, subtotal + discount_total)


def _left(subtotal: Decimal, adjustments: Sequence[Adjustment]) -> Decimal:
    return subtotal + sum((a.amount for a in adjustments), ZERO)
