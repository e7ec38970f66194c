"""Promotions as adjustments to a running total: bundle prices, spend-X-save-Y, coupons, and a
salesperson's manual discount.

Each step sees the total the previous steps left, and none takes it below zero, so the order of
``quote()`` (bundle → spend_save → coupon → manual) is the whole story of how a total came about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.pricing.errors import (
    BundleIncomplete,
    CouponBelowMinSpend,
    CouponNeedsOneDiscount,
    DiscountOutOfRange,
    InvalidPercentage,
    SpendSaveIncomplete,
    SpendSaveZeroSpend,
    UnknownCoupon,
    UnknownPromotionKind,
)
from core.pricing.price_lists import PricedLine, money, quantize

KINDS = ("coupon", "spend_save", "bundle")


@dataclass(frozen=True)
class Promotion:
    """A promotion as loaded from master data; which fields matter depends on ``kind``.

    ``name`` may be left empty for a coupon, which is then shown by its code.
    """

    kind: str
    name: str = ""
    code: str | None = None
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    spend: Decimal | None = None
    save: Decimal | None = None
    repeat: bool = False
    bundle: dict[str, int] | None = None
    bundle_price: Decimal | None = None
    min_spend: Decimal | None = None
    active: bool = True


@dataclass(frozen=True)
class Adjustment:
    kind: str
    name: str
    amount: Decimal
    detail: str


def check_kinds(promotions: Sequence[Promotion]) -> None:
    """A misspelt kind would otherwise be silently ignored and the customer silently overcharged."""
    for promo in promotions:
        if promo.active and promo.kind not in KINDS:
            raise UnknownPromotionKind(promotion=promo.name or promo.code or "?", kind=promo.kind)


def percent(value: Decimal | int, subject: str, field: str) -> Decimal:
    if not _is_percentage(value):
        raise InvalidPercentage(subject=subject, field=field, value=str(value))
    return Decimal(value)


def manual_percent(value: Decimal | int) -> Decimal:
    """A salesperson's discount, refused in words they can act on."""
    if not _is_percentage(value):
        raise DiscountOutOfRange(discount=str(value))
    return Decimal(value)


def _is_percentage(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        return False
    number = Decimal(value)
    return number.is_finite() and 0 <= number <= 100


def bundle_adjustments(lines: Sequence[PricedLine], promotions: Sequence[Promotion]) -> list[Adjustment]:
    """Bundles in the order given; a unit sold inside one bundle is not available to the next."""
    unit_price = {line.sku: line.unit_price for line in lines}
    left = Counter[str]()
    for line in lines:
        left[line.sku] += line.qty

    adjustments = []
    for promo in _active(promotions, "bundle"):
        components, bundle_price = _bundle_terms(promo)
        count = min(left[sku] // qty for sku, qty in components.items())
        if count == 0:
            continue
        normal = sum((unit_price[sku] * qty for sku, qty in components.items()), Decimal("0.00"))
        if bundle_price >= normal:
            continue  # a bundle never raises a price, so it also keeps no units from other bundles
        for sku, qty in components.items():
            left[sku] -= count * qty
        recipe = " + ".join(f"{sku}×{qty}" for sku, qty in components.items())
        detail = f"{promo.name} bundle ×{count} at {bundle_price} ({recipe}, normally {normal})"
        adjustments.append(Adjustment("bundle", promo.name, quantize(count * bundle_price - count * normal), detail))
    return adjustments


def spend_save_adjustment(merchandise: Decimal, promotions: Sequence[Promotion]) -> Adjustment | None:
    """Only the single best spend-X-save-Y applies: stacking them would give away more than any
    one offer promised."""
    best: tuple[Decimal, Promotion, int] | None = None
    for promo in _active(promotions, "spend_save"):
        spend, save = _spend_save_terms(promo)
        times = int(merchandise // spend) if promo.repeat else int(merchandise >= spend)
        saving = min(save * times, merchandise)
        if saving > 0 and (best is None or saving > best[0]):
            best = (saving, promo, times)
    if best is None:
        return None
    saving, promo, times = best
    spend, save = _spend_save_terms(promo)
    if promo.repeat:
        detail = f"{merchandise} reaches {spend} {times} time(s): {save} off each time"
    else:
        detail = f"{merchandise} ≥ {spend}: {save} off"
    return Adjustment("spend_save", promo.name, -saving, detail)


def coupon_adjustment(code: str, running: Decimal, merchandise: Decimal, promotions: Sequence[Promotion]) -> Adjustment:
    """The coupon's reduction of what bundles and spend-save left; ``min_spend`` is checked
    against the merchandise total (sum of line totals), the figure a customer sees on the shelf."""
    wanted = code.strip().casefold()
    promo = next((p for p in _active(promotions, "coupon") if (p.code or "").strip().casefold() == wanted), None)
    if promo is None or not wanted:
        raise UnknownCoupon(coupon=code)
    label = promo.code or code
    if promo.min_spend is not None:
        min_spend = money(promo.min_spend, label, "min_spend")
        if merchandise < min_spend:
            raise CouponBelowMinSpend(coupon=label, min_spend=min_spend, merchandise_total=merchandise)
    if (promo.percent_off is None) == (promo.amount_off is None):
        raise CouponNeedsOneDiscount(coupon=label)
    if promo.percent_off is not None:
        pct = percent(promo.percent_off, label, "percent_off")
        off = quantize(running * pct / 100)
        detail = f"{label}: {pct}% off {running}"
    else:
        amount = money(promo.amount_off, label, "amount_off")
        off = min(amount, running)
        detail = f"{label}: {amount} off" + (f", limited to the {running} left" if off < amount else "")
    return Adjustment("coupon", promo.name or label, -off, detail)


def manual_adjustment(pct: Decimal | int, running: Decimal) -> Adjustment | None:
    """A salesperson's discount comes last, so it never inflates what a promotion gives away."""
    pct = manual_percent(pct)
    if pct == 0:
        return None
    off = quantize(running * pct / 100)
    return Adjustment("manual_discount", "manual discount", -off, f"{pct}% off {running}")


def _active(promotions: Sequence[Promotion], kind: str) -> Iterator[Promotion]:
    return (p for p in promotions if p.active and p.kind == kind)


def _bundle_terms(promo: Promotion) -> tuple[dict[str, int], Decimal]:
    if not promo.bundle or any(qty < 1 for qty in promo.bundle.values()) or promo.bundle_price is None:
        raise BundleIncomplete(promotion=promo.name)
    return promo.bundle, money(promo.bundle_price, promo.name, "bundle_price")


def _spend_save_terms(promo: Promotion) -> tuple[Decimal, Decimal]:
    if promo.spend is None or promo.save is None:
        raise SpendSaveIncomplete(promotion=promo.name)
    spend = money(promo.spend, promo.name, "spend")
    if spend == 0:
        raise SpendSaveZeroSpend(promotion=promo.name)
    return spend, money(promo.save, promo.name, "save")
