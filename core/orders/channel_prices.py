"""Prices a sales channel already charged: kept as the buyer paid them, explained by channel.

A channel order is not priced from our lists and promotions: the shop sold it at its price, with
its discounts and its shipping, and the buyer has paid (or will pay) exactly that. The order keeps
those figures in its price breakdown (``source: channel``), so validating it again after a person
fixes a SKU, or an update from the channel, prices it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.catalog.models import Product

SOURCE = "channel"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ChannelPrices:
    channel: str  # the channel's code, named in the breakdown
    units: tuple[Decimal, ...]  # what the buyer paid per unit, one per order line in line order
    shipping: Decimal = ZERO
    discount: Decimal = ZERO  # order-level discounts the channel applied
    total: Decimal | None = None  # the channel's own total; None: lines - discount + shipping

    def breakdown(self) -> dict[str, Any]:
        return {
            "source": SOURCE,
            "channel": self.channel,
            "units": [str(u) for u in self.units],
            "shipping": str(self.shipping),
            "discount": str(self.discount),
            "total": None if self.total is None else str(self.total),
        }


def is_channel_priced(breakdown: dict[str, Any]) -> bool:
    return breakdown.get("source") == SOURCE


def apply(order: Any, products: dict[str, Product]) -> None:
    """Set the order's line prices and totals from its stored channel figures.

    ``list_price`` is our own price where the SKU is known (so a report can compare), the channel's
    otherwise; the breakdown keeps the channel's figures and adds the lines as priced now.
    """
    stored = order.price_breakdown
    units = [Decimal(u) for u in stored["units"]]
    lines: Sequence[Any] = order.lines
    if len(units) != len(lines):  # lines were edited by a person: what is not the channel's costs 0
        units = (units + [ZERO] * len(lines))[: len(lines)]
    subtotal = ZERO
    priced = []
    for line, unit in zip(lines, units, strict=True):
        product = products.get(line.sku)
        line.unit_price = unit
        line.list_price = product.price if product is not None and product.price is not None else unit
        line.line_total = (unit * line.qty).quantize(ZERO)
        subtotal += line.line_total
        priced.append(
            {
                "sku": line.sku,
                "qty": line.qty,
                "list_price": str(line.list_price),
                "unit_price": str(unit),
                "line_total": str(line.line_total),
                "price_source": f"channel {stored['channel']}",
            }
        )
    discount, shipping = Decimal(stored["discount"]), Decimal(stored["shipping"])
    total = Decimal(stored["total"]) if stored.get("total") is not None else subtotal - discount + shipping
    order.subtotal, order.discount_total, order.total = subtotal, discount, max(total, ZERO)
    adjustments = [{"kind": "channel_discount", "name": stored["channel"], "amount": str(-discount), "detail": {}}]
    if shipping:
        adjustments.append({"kind": "shipping", "name": stored["channel"], "amount": str(shipping), "detail": {}})
    order.price_breakdown = {
        **{k: stored[k] for k in ("source", "channel", "units", "shipping", "discount", "total")},
        "lines": priced,
        "adjustments": adjustments,
        "subtotal": str(subtotal),
        "discount_total": str(discount),
        "discount_percent": str((discount / subtotal * 100).quantize(ZERO) if subtotal else ZERO),
    }
