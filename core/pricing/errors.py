"""Refusals of pricing: a coupon that does not apply, or price data that cannot be right.

The data problems (a negative price, a promotion without its terms) are refused rather than
guessed around, so nobody is silently over- or undercharged; each names the row to fix.
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import N_, DomainError


class PricingError(DomainError):
    code = "pricing"
    template = N_("The order cannot be priced.")


class UnknownCoupon(PricingError):
    code = "unknown_coupon"
    template = N_("Coupon {coupon} does not exist or is no longer valid.")
    coupon: str


class CouponBelowMinSpend(PricingError):
    code = "coupon_below_min_spend"
    template = N_(
        "Coupon {coupon} needs a merchandise total of at least {min_spend}; this order has {merchandise_total}."
    )
    coupon: str
    min_spend: Decimal
    merchandise_total: Decimal


class DiscountOutOfRange(PricingError):
    code = "discount_out_of_range"
    template = N_("The discount must be a percentage from 0 to 100, not {discount}.")
    discount: str


class InvalidAmount(PricingError):
    code = "invalid_amount"
    template = N_("{subject}: {field} must be an exact amount of at least 0.00, not {value}.")
    subject: str
    field: str
    value: str


class InvalidPercentage(PricingError):
    code = "invalid_percentage"
    template = N_("{subject}: {field} must be a percentage from 0 to 100, not {value}.")
    subject: str
    field: str
    value: str


class InvalidMinQty(PricingError):
    code = "invalid_min_qty"
    template = N_("Price list {price_list}: min_qty for {sku} must be at least 1, not {min_qty}.")
    price_list: str
    sku: str
    min_qty: int


class UnknownPromotionKind(PricingError):
    code = "unknown_promotion_kind"
    template = N_("Promotion {promotion} has an unknown kind {kind}; use coupon, spend_save or bundle.")
    promotion: str
    kind: str


class CouponNeedsOneDiscount(PricingError):
    code = "coupon_needs_one_discount"
    template = N_("Coupon {coupon} must give exactly one of percent_off or amount_off.")
    coupon: str


class BundleIncomplete(PricingError):
    code = "bundle_incomplete"
    template = N_("Bundle {promotion} needs components with quantities of at least 1, and a bundle_price.")
    promotion: str


class SpendSaveIncomplete(PricingError):
    code = "spend_save_incomplete"
    template = N_("Spend-save {promotion} needs both spend and save.")
    promotion: str


class SpendSaveZeroSpend(PricingError):
    code = "spend_save_zero_spend"
    template = N_("Spend-save {promotion}: spend must be above 0.00.")
    promotion: str
