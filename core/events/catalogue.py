"""Every domain event, past tense, with typed fields.

An event's ``name`` is stable: it is the row's ``name`` column and what workflow rules, logs and
(later) outbound webhooks see, so it is never renamed; a change to an event's fields bumps its
``version``. ``at`` is when it happened (the row's ``created_at``); the other fields are the payload,
each under its own name unless its metadata gives the ``key`` it is stored under.

Each event has at least one handler in the chat layer (a test checks it): a fact nobody consumes is
kept in the audit trail, not recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from core.orders.status import OrderStatus, ShipmentStatus
from core.production.models import WorkOrderStatus


@dataclass(frozen=True, kw_only=True)
class Event:
    name: ClassVar[str]
    version: ClassVar[int] = 1
    at: datetime


@dataclass(frozen=True, kw_only=True)
class OrderReceived(Event):
    """An order was entered (any channel); the workflow's ``order.received`` rules run on it."""

    name: ClassVar[str] = "order.received"
    order_no: str
    customer: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class OrderStatusChanged(Event):
    """One transition of the order lifecycle, by ``trigger``; ``actor_id`` is None for the system."""

    name: ClassVar[str] = "order.status_changed"
    order_no: str
    from_status: OrderStatus
    to_status: OrderStatus
    trigger: str
    actor: str
    actor_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApprovalRequested(Event):
    """A step of a review opened: ``approvers`` is ``{"role": ...}`` or ``{"user": ...}``."""

    name: ClassVar[str] = "approval.requested"
    order_no: str
    total: Decimal
    approvers: dict[str, str]
    level: int
    levels: int
    rule: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApprovalProgressed(Event):
    """Someone approved a step that needs all of a role; the step stays open for the others."""

    name: ClassVar[str] = "approval.progress"
    order_no: str
    level: int
    approved_by: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ApprovalStepCompleted(Event):
    """A step of a several-step review is complete (the order has not moved yet)."""

    name: ClassVar[str] = "approval.level_done"
    order_no: str
    level: int
    actor: str


@dataclass(frozen=True, kw_only=True)
class OrderReadyToPick(Event):
    """The warehouse may start: the warehouses holding the order's reservations."""

    name: ClassVar[str] = "order.ready_to_pick"
    order_no: str
    warehouses: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OrderShipped(Event):
    """Goods left one warehouse (``complete``: nothing of the order is left to ship)."""

    name: ClassVar[str] = "order.shipped"
    order_no: str
    carrier: str
    tracking_no: str
    warehouse: str
    lines: dict[str, int]
    complete: bool


@dataclass(frozen=True, kw_only=True)
class ShipmentUpdated(Event):
    """A carrier reported progress (or an exception) for one parcel.

    ``note`` is the carrier's own words for the scan, ``reason`` an exception's (failed_attempt,
    refused, returned, customs, lost, stalled, problem), ``first`` whether the parcel reached
    ``to_status`` for the first time (a recovery from an exception is not news to the customer).
    ``parcels_left`` (a delivery only): how many parcels of the order are still on their way (or,
    for an order not fully shipped, at least 1), as of this scan. v2 added ``reason``,
    ``location``, ``first`` and ``parcels_left``.
    """

    name: ClassVar[str] = "shipment.status_changed"
    version: ClassVar[int] = 2
    order_no: str
    carrier: str
    tracking_no: str
    from_status: ShipmentStatus
    to_status: ShipmentStatus
    note: str | None = None
    reason: str | None = None
    location: str | None = None
    first: bool = True
    parcels_left: int = 0


@dataclass(frozen=True, kw_only=True)
class StockLow(Event):
    """A product's available total crossed below its safety stock (once per crossing)."""

    name: ClassVar[str] = "stock.low"
    sku: str
    product: str = field(metadata={"key": "name"})  # the product's name; stored as "name", as rules see it
    available: int
    safety_stock: int


@dataclass(frozen=True, kw_only=True)
class PaymentOverdue(Event):
    """A credit-term invoice passed its due date unpaid."""

    name: ClassVar[str] = "payment.overdue"
    order_no: str
    amount: Decimal
    due_on: date


@dataclass(frozen=True, kw_only=True)
class ReturnRequested(Event):
    name: ClassVar[str] = "return.requested"
    rma_no: str
    order_no: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChannelOrderNeedsAttention(Event):
    """A sales channel's order needs a person: ``problem`` is ``held`` (a SKU to map, an address or
    buyer to find, a price below cost), ``changed_after_allocation`` or ``cancelled_after_shipping``;
    ``detail`` says what exactly (the hold reasons, or the difference)."""

    name: ClassVar[str] = "channel.order_needs_attention"
    order_no: str
    channel: str
    channel_order_no: str
    problem: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class ChannelDeliveryDeadLettered(Event):
    """A stored channel delivery failed every attempt; its raw bytes are kept for a person."""

    name: ClassVar[str] = "channel.delivery_dead_lettered"
    channel: str
    delivery_id: int
    topic: str
    attempts: int
    error: str


@dataclass(frozen=True, kw_only=True)
class RebateAccrued(Event):
    """A completed order (``kind`` accrual) or a refunded return (reversal) changed a customer's
    rebate for ``period``: ``rebate`` is the change, including any catch-up when ``step_changed``."""

    name: ClassVar[str] = "rebate.accrued"
    customer: str
    order_no: str
    kind: str
    period: str
    net_sales: Decimal
    rebate: Decimal
    rate: Decimal
    period_net: Decimal
    step_changed: bool


@dataclass(frozen=True, kw_only=True)
class CreditNoteRequested(Event):
    """A period's rebate was settled as a credit note; it waits for finance's approval."""

    name: ClassVar[str] = "credit_note.requested"
    note_no: str
    customer: str
    customer_name: str
    agreement: str
    period: str
    net_sales: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True, kw_only=True)
class CreditNoteDecided(Event):
    """Finance approved (the customer's next orders can use it) or rejected a credit note."""

    name: ClassVar[str] = "credit_note.decided"
    note_no: str
    customer: str
    status: str
    amount: Decimal
    period: str
    actor: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkOrderPlanned(Event):
    """A make-to-order line was short: a work order (生产工单) makes ``qty`` units of ``sku``.

    ``materials`` is what it draws from stock per component SKU, ``short`` what is missing of it
    (each on a purchase request); both empty for a product without a bill of materials."""

    name: ClassVar[str] = "work_order.planned"
    mo_no: str
    order_no: str
    sku: str
    qty: int
    warehouse: str
    materials: dict[str, int]
    short: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class WorkOrderAdjusted(Event):
    """The order's need changed (stock arrived, the order changed): the work order makes ``qty``
    units now instead of ``from_qty``, its materials and purchase requests re-planned."""

    name: ClassVar[str] = "work_order.adjusted"
    mo_no: str
    order_no: str
    sku: str
    from_qty: int
    qty: int
    short: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class WorkOrderMaterialsReady(Event):
    """Stock arrived and every material of the work order is now on the shelves: it can start."""

    name: ClassVar[str] = "work_order.materials_ready"
    mo_no: str
    order_no: str
    sku: str
    qty: int


@dataclass(frozen=True, kw_only=True)
class WorkOrderReleased(Event):
    """A production lead handed the work order to the shop floor (an MES takes it from here)."""

    name: ClassVar[str] = "work_order.released"
    mo_no: str
    order_no: str
    sku: str
    qty: int
    actor: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderStarted(Event):
    name: ClassVar[str] = "work_order.started"
    mo_no: str
    order_no: str
    sku: str
    qty: int
    actor: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderDone(Event):
    """Made: the materials are consumed and ``qty`` units of ``sku`` received in ``warehouse``,
    reserved for the order."""

    name: ClassVar[str] = "work_order.done"
    mo_no: str
    order_no: str
    sku: str
    qty: int
    warehouse: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderCancelled(Event):
    """The work order will not be made (its order was cancelled, or the lead cancelled it); its
    reservations are released and its open purchase requests cancelled."""

    name: ClassVar[str] = "work_order.cancelled"
    mo_no: str
    order_no: str
    sku: str
    qty: int
    from_status: WorkOrderStatus
    reason: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class MilestoneApprovalRequested(Event):
    """An accepted contract milestone's invoice waits for an approval step a rule (or the
    threshold) asked for: ``approvers`` is ``{"role": ...}`` or ``{"user": ...}``."""

    name: ClassVar[str] = "milestone.approval_requested"
    order_no: str
    seq: int
    milestone: str
    amount: Decimal
    approvers: dict[str, str]
    level: int
    levels: int
    rule: str | None = None


@dataclass(frozen=True, kw_only=True)
class MilestoneInvoiced(Event):
    """A contract milestone was accepted (and approved, where asked): its invoice is a receivable."""

    name: ClassVar[str] = "milestone.invoiced"
    order_no: str
    seq: int
    milestone: str
    amount: Decimal
    invoice_no: str


@dataclass(frozen=True, kw_only=True)
class MilestoneRejected(Event):
    """An approver turned a milestone's invoice down: it is pending again for the salesperson."""

    name: ClassVar[str] = "milestone.rejected"
    order_no: str
    seq: int
    milestone: str
    actor: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class MilestoneOverdue(Event):
    """A contract milestone passed its due date unaccepted; ``escalated``: the managers' turn."""

    name: ClassVar[str] = "milestone.overdue"
    order_no: str
    seq: int
    milestone: str
    amount: Decimal
    due_on: date
    escalated: bool = False


def _all(base: type[Event]) -> list[type[Event]]:
    return [c for sub in base.__subclasses__() for c in (sub, *_all(sub))]


EVENTS: dict[str, type[Event]] = {cls.name: cls for cls in _all(Event)}
