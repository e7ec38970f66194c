"""Unit prices from price lists: for one customer, a customer group, a customer tier, a sales
channel, with quantity breaks.

Which list prices a line (most specific first; README "Distributor pricing and rebates"):
the customer's own list > their group's list > a tier list (tier and channel > tier only) >
a channel list > a list for everyone > the catalogue price. Within the winning kind of list the
highest quantity break reached applies, then the cheapest row.

Prices are never typed by a salesperson; they come from here, and every line says which list
row produced its price so the order can explain itself later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.errors import QuantityTooSmall
from core.pricing.errors import InvalidAmount, InvalidMinQty

CENT = Decimal("0.01")
CATALOGUE = "catalogue price"


@dataclass(frozen=True)
class PriceEntry:
    """One row of a price list."""

    price_list: str
    sku: str
    price: Decimal
    min_qty: int = 1
    tier: str | None = None
    channel: str | None = None
    customer_group: str | None = None
    customer: str | None = None  # a customer code


@dataclass(frozen=True)
class Buyer:
    """Who the order is for, as far as price lists care."""

    tier: str | None = None
    channel: str | None = None
    customer_group: str | None = None
    customer: str | None = None


@dataclass(frozen=True)
class QuoteLine:
    """What the customer asks for; ``base_price`` is the fallback when no list applies."""

    sku: str
    qty: int
    base_price: Decimal
    cost: Decimal | None = None


@dataclass(frozen=True)
class PricedLine:
    sku: str
    qty: int
    list_price: Decimal
    unit_price: Decimal
    line_total: Decimal
    price_source: str


def money(value: Decimal | int, subject: str, field: str) -> Decimal:
    """Two-place Decimal, refusing floats so binary rounding never reaches a total.

    ``subject`` and ``field`` name the data to fix: the SKU, list or promotion, and its field.
    """
    exact = not isinstance(value, bool) and isinstance(value, (Decimal, int))
    if not exact or not Decimal(value).is_finite() or value < 0:
        raise InvalidAmount(subject=subject, field=field, value=str(value))
    return quantize(Decimal(value))


def quantize(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_lines(
    lines: Sequence[QuoteLine],
    *,
    tier: str | None,
    channel: str | None,
    entries: Sequence[PriceEntry],
    customer_group: str | None = None,
    customer: str | None = None,
) -> tuple[PricedLine, ...]:
    """Price each line on its SKU's combined quantity, so splitting a line never loses a break."""
    for line in lines:
        if line.qty <= 0:
            raise QuantityTooSmall(sku=line.sku, qty=line.qty)
    for entry in entries:
        money(entry.price, f"{entry.price_list}/{entry.sku}", "price")
        if entry.min_qty < 1:
            raise InvalidMinQty(price_list=entry.price_list, sku=entry.sku, min_qty=entry.min_qty)

    combined = Counter[str]()
    for line in lines:
        combined[line.sku] += line.qty

    priced = []
    for line in lines:
        list_price = money(line.base_price, line.sku, "price")
        qty = combined[line.sku]
        entry = best_entry(
            line.sku,
            qty,
            tier=tier,
            channel=channel,
            entries=entries,
            customer_group=customer_group,
            customer=customer,
        )
        if entry is None:
            unit_price, source = list_price, CATALOGUE
        else:
            unit_price, source = (
                money(entry.price, f"{entry.price_list}/{entry.sku}", "price"),
                _describe(entry, line, qty),
            )
        priced.append(PricedLine(line.sku, line.qty, list_price, unit_price, unit_price * line.qty, source))
    return tuple(priced)


def best_entry(
    sku: str,
    qty: int,
    *,
    tier: str | None,
    channel: str | None,
    entries: Sequence[PriceEntry],
    customer_group: str | None = None,
    customer: str | None = None,
) -> PriceEntry | None:
    """The row that prices ``qty`` units: most specific list, then highest break, then cheapest.

    Specificity comes first because a list made for this customer (or their group, tier and
    channel) is a deliberate commercial decision that a generic list's deeper break must not override.
    """
    applicable = [
        e
        for e in entries
        if e.sku == sku
        and e.tier in (None, tier)
        and e.channel in (None, channel)
        and e.customer_group in (None, customer_group)
        and e.customer in (None, customer)
        and e.min_qty <= qty
    ]
    if not applicable:
        return None
    return min(applicable, key=lambda e: (-_specificity(e), -e.min_qty, e.price))


def _specificity(entry: PriceEntry) -> int:
    """customer (8+) > group (4+) > tier and channel (3) > tier only (2) > channel only (1) > none (0)."""
    return (
        8 * (entry.customer is not None)
        + 4 * (entry.customer_group is not None)
        + 2 * (entry.tier is not None)
        + (entry.channel is not None)
    )


def _describe(entry: PriceEntry, line: QuoteLine, combined_qty: int) -> str:
    """Name the list and the break, and say when only the order's other lines reached it."""
    if entry.min_qty == 1:
        return f"price list {entry.price_list}"
    if entry.min_qty > line.qty:
        return f"price list {entry.price_list} (qty ≥ {entry.min_qty}; {combined_qty} {line.sku} in order)"
    return f"price list {entry.price_list} (qty ≥ {entry.min_qty})"
