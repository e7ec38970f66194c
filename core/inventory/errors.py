"""Refusals of stock movements: one class per reason (the machinery is in ``core.errors``)."""

from __future__ import annotations

from core.errors import N_, Conflict, InvalidInput


class KitNotStocked(InvalidInput):
    code = "kit_not_stocked"
    template = N_("{sku} is a kit; receive or adjust its components instead.")
    sku: str


class ReceiptTooSmall(InvalidInput):
    code = "receipt_too_small"
    template = N_("A receipt must add at least 1 unit, not {qty}.")
    qty: int


class AdjustmentOfZero(InvalidInput):
    code = "adjustment_of_zero"
    template = N_("An adjustment of 0 changes nothing; give a positive or negative number.")


class NotEnoughOnHand(Conflict):
    code = "not_enough_on_hand"
    template = N_(
        "Cannot remove {qty} {sku} from {warehouse}: {on_hand} on hand, {reserved} reserved, {available} free."
    )
    sku: str
    warehouse: str
    qty: int
    on_hand: int
    reserved: int
    available: int
