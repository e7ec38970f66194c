"""The stable status vocabularies of orders, payments, shipments, returns, approval steps and
finance's reconciliation tasks.

These strings are part of the contract (API, CLI, database); never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    RECEIVED = "received"  # entered, not yet validated
    ON_HOLD = "on_hold"  # failed validation; a person fixes it and re-validates
    PENDING_APPROVAL = "pending_approval"  # a rule asked for review
    CONFIRMED = "confirmed"  # accepted; allocation comes next
    REJECTED = "rejected"  # terminal: review said no
    BACKORDERED = "backordered"  # waits for stock; a purchase request is raised
    ALLOCATED = "allocated"  # stock reserved
    AWAITING_PAYMENT = "awaiting_payment"  # prepaid and not yet paid
    READY_TO_PICK = "ready_to_pick"  # the warehouse may start
    PICKING = "picking"
    PACKED = "packed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"  # terminal
    CANCELLED = "cancelled"  # terminal; reservations released, refund if paid


TERMINAL = frozenset({OrderStatus.REJECTED, OrderStatus.COMPLETED, OrderStatus.CANCELLED})


class OrderKind(StrEnum):
    STANDARD = "standard"  # goods: priced lines, allocated, picked and shipped
    CONTRACT = "contract"  # a project (core.contracts): a value, milestones invoiced on acceptance, costs logged


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class PaymentTerms(StrEnum):
    PREPAID = "prepaid"  # pay before picking
    COD = "cod"  # cash on delivery
    CREDIT = "credit"  # invoice later, within the customer's credit limit


class HoldReason(StrEnum):
    DATA = "data"
    ADDRESS = "address"
    CREDIT = "credit"
    PRICE = "price"
    STOCK = "stock"


class ShipmentStatus(StrEnum):
    LABEL_CREATED = "label_created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    INSPECTED = "inspected"
    REFUNDED = "refunded"
    EXCHANGED = "exchanged"
    CLOSED = "closed"


class ApprovalStepStatus(StrEnum):
    WAITING = "waiting"  # a later step; it opens when the one before it is done
    OPEN = "open"  # the step approvers act on now
    DONE = "done"  # approved (by anyone of the role, or by all of it)
    VOID = "void"  # the request ended first: an edit, a rejection or a cancellation


class ApprovalMode(StrEnum):
    ANY = "any"  # one approval of the role completes the step
    ALL = "all"  # every active member of the role approves


class ReconciliationStatus(StrEnum):
    OPEN = "open"  # a credit invoice finance waits to be paid
    SETTLED = "settled"  # paid; the customer's credit is free again
    VOID = "void"  # the order was cancelled unpaid; nothing is owed
