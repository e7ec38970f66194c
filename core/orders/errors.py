"""Refusals of the order, payment, fulfilment and return rules: one class per reason.

The catalogue's machinery (codes, typed parameters, one template each) is in ``core.errors``.
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import N_, Conflict, DomainError, InvalidInput
from core.orders.status import OrderStatus, PaymentStatus

# --- entering and editing orders --------------------------------------------------------------------


class NoCustomer(InvalidInput):
    code = "no_customer"
    template = N_("The order names no customer.")


class NoLines(InvalidInput):
    code = "no_lines"
    template = N_("The order has no lines; name at least one item as SKU*QTY, e.g. TEA-001*2.")


class OnlyHeldOrdersFixed(Conflict):
    code = "only_held_orders_fixed"
    template = N_("{order_no} is {state}; only an order on hold can have a line fixed.")
    order_no: str
    state: OrderStatus


# --- confirmation, approval, cancellation -------------------------------------------------------------


class RejectionNeedsReason(InvalidInput):
    code = "rejection_needs_reason"
    template = N_("Say why {order_no} is rejected.")
    order_no: str


class CancellationNeedsReason(InvalidInput):
    code = "cancellation_needs_reason"
    template = N_("Say why {order_no} is cancelled.")
    order_no: str


class AlreadyApproved(Conflict):
    code = "already_approved"
    template = N_("You have already approved step {step} of {order_no}; it waits for someone else.")
    order_no: str
    step: int


class CreditLimitExceeded(DomainError):
    code = "credit_limit"
    template = N_("{order_no} would take {customer} over the credit limit ({outstanding} owed of {limit}).")
    order_no: str
    customer: str
    outstanding: Decimal
    limit: Decimal


# --- payments -------------------------------------------------------------------------------------------


class PaymentAlreadyRecorded(Conflict):
    code = "payment_already_recorded"
    template = N_("{order_no} is already {payment}.")
    order_no: str
    payment: PaymentStatus


class PaymentNotDue(Conflict):
    code = "payment_not_due"
    template = N_("No payment can be recorded for {order_no}: it is {state}.")
    order_no: str
    state: OrderStatus


# --- shipping -----------------------------------------------------------------------------------------


class TrackingRequired(InvalidInput):
    code = "tracking_required"
    template = N_("A shipment needs a carrier and a tracking number, e.g. SF 1234567890.")


class TrackingInUse(Conflict):
    code = "tracking_in_use"
    template = N_("{carrier} {tracking_no} is already used by another shipment.")
    carrier: str
    tracking_no: str


class NothingReserved(Conflict):
    code = "nothing_reserved"
    template = N_("Nothing of {order_no} is reserved in a warehouse, so nothing can ship.")
    order_no: str


class WhichWarehouse(InvalidInput):
    code = "which_warehouse"
    template = N_("{order_no} ships from {warehouses}; say which warehouse.")
    order_no: str
    warehouses: list[str]


class NothingReservedHere(Conflict):
    code = "nothing_reserved_here"
    template = N_("Nothing of {order_no} is reserved in {warehouse}.")
    order_no: str
    warehouse: str


class ShipQuantityOutOfRange(InvalidInput):
    code = "ship_quantity_out_of_range"
    template = N_("You can ship 1 to {shippable} of {sku}, not {qty}.")
    sku: str
    qty: int
    shippable: int


# --- returns ------------------------------------------------------------------------------------------


class UnknownResolution(InvalidInput):
    code = "unknown_resolution"
    template = N_("A return is resolved by refund or exchange, not {resolution}.")
    resolution: str


class NothingToReturn(InvalidInput):
    code = "nothing_to_return"
    template = N_("Name at least one SKU and quantity to return, e.g. TEA-001*1.")


class NotReturnable(Conflict):
    code = "not_returnable"
    template = N_("{order_no} is {state}; only goods that have shipped can be returned.")
    order_no: str
    state: OrderStatus


class ReturnQuantityOutOfRange(InvalidInput):
    code = "return_quantity_out_of_range"
    template = N_("You can return 1 to {returnable} of {sku}, not {qty}.")
    sku: str
    qty: int
    returnable: int


class NothingLeftToReturn(Conflict):
    code = "nothing_left_to_return"
    template = N_("No {sku} of {order_no} can be returned: none has shipped, or it is all returned already.")
    order_no: str
    sku: str


class NotARefund(Conflict):
    code = "not_a_refund"
    template = N_("{rma_no} asked for an exchange, not a refund.")
    rma_no: str


class NotAnExchange(Conflict):
    code = "not_an_exchange"
    template = N_("{rma_no} asked for a refund, not an exchange.")
    rma_no: str
