"""Orders and what hangs off them: lines, shipments, returns, finance reconciliation tasks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Sequence, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.catalog.models import Product
from core.customers.models import Customer
from core.db.base import Base
from core.orders.status import (
    OrderKind,
    OrderStatus,
    PaymentStatus,
    PaymentTerms,
    ReconciliationStatus,
    ReturnStatus,
    ShipmentStatus,
)


class Order(Base):
    __tablename__ = "sales_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(String(32), index=True)
    kind: Mapped[OrderKind] = mapped_column(String(16), default=OrderKind.STANDARD, server_default="standard")
    project_name: Mapped[str | None] = mapped_column(String(200))  # a contract's project
    payment_status: Mapped[PaymentStatus] = mapped_column(String(32), default=PaymentStatus.UNPAID)
    payment_terms: Mapped[PaymentTerms] = mapped_column(String(16), default=PaymentTerms.PREPAID)
    channel: Mapped[str] = mapped_column(String(32), default="direct")
    # The sales channel's own id, for idempotent webhook intake.
    external_ref: Mapped[str | None] = mapped_column(String(128))
    channel_order_no: Mapped[str | None] = mapped_column(String(64))  # what the shop shows: "#1001"
    # The channel's own "last changed" time of the state we hold: an older update is ignored.
    channel_updated_at: Mapped[datetime | None]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    ship_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    manual_discount_percent: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    subtotal: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    paid_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    price_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    hold_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review_reason: Mapped[str | None] = mapped_column(String(500))
    allocation_plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(String(1000))
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    replaces_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    status_changed_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship(lazy="raise")
    lines: Mapped[list[OrderLine]] = relationship(lazy="raise", cascade="all, delete-orphan", order_by="OrderLine.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("channel", "external_ref"),
        Index("ix_sales_order_status_created", "status", "created_at"),
        CheckConstraint("total >= 0", name="total_non_negative"),
    )


class OrderLine(Base):
    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"), index=True)
    # None while the SKU is unknown: the order waits on hold (data) until someone fixes the line.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int]
    list_price: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    line_total: Mapped[Decimal]
    shipped_qty: Mapped[int] = mapped_column(default=0)
    returned_qty: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product | None] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("shipped_qty >= 0 AND shipped_qty <= qty", name="shipped_within_qty"),
        CheckConstraint("returned_qty >= 0 AND returned_qty <= shipped_qty", name="returned_within_shipped"),
    )


class Shipment(Base):
    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_no: Mapped[str] = mapped_column(String(64))
    status: Mapped[ShipmentStatus] = mapped_column(String(32), default=ShipmentStatus.LABEL_CREATED)
    exception_reason: Mapped[str | None] = mapped_column(String(32))  # failed_attempt, refused, …
    # Every status the parcel has been in: "forward only" is measured against the furthest, and a
    # customer hears of each key moment once even if the parcel falls into exception and recovers.
    reached: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The carrier's latest scan (by its own time): an older scan arriving late changes nothing.
    last_event_at: Mapped[datetime | None]
    last_event: Mapped[str | None] = mapped_column(String(1000))
    last_location: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    lines: Mapped[list[ShipmentLine]] = relationship(lazy="raise", cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("carrier", "tracking_no"),)


class ShipmentLine(Base):
    __tablename__ = "shipment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    qty: Mapped[int]

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


class ReturnRequest(Base):
    __tablename__ = "return_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_no: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    status: Mapped[ReturnStatus] = mapped_column(String(16), default=ReturnStatus.REQUESTED)
    reason: Mapped[str | None] = mapped_column(String(500))
    resolution: Mapped[str] = mapped_column(String(16), default="refund")  # refund | exchange
    received_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    inspection_passed: Mapped[bool | None]
    refund_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    lines: Mapped[list[ReturnLine]] = relationship(lazy="raise", cascade="all, delete-orphan")


class ReturnLine(Base):
    __tablename__ = "return_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_request.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    qty: Mapped[int]

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


class ReconciliationTask(Base):
    """Finance's to-do for a credit-term order: collect the invoice by the due date."""

    __tablename__ = "reconciliation_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), unique=True)
    amount: Mapped[Decimal]
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReconciliationStatus] = mapped_column(String(16), default=ReconciliationStatus.OPEN)
    created_at: Mapped[datetime]


# On PostgreSQL, numbers come from sequences: nextval takes no lock, so concurrent placements do
# not queue behind one counter row. SQLite has one writer anyway and uses ``Counter``.
NUMBER_SEQUENCES = {
    "order": Sequence("order_no_seq", start=100_001, metadata=Base.metadata),
    "rma": Sequence("rma_no_seq", start=100_001, metadata=Base.metadata),
    "credit_note": Sequence("credit_note_no_seq", start=100_001, metadata=Base.metadata),
    "work_order": Sequence("work_order_no_seq", start=100_001, metadata=Base.metadata),
}


class Counter(Base):
    """Named counters (order and RMA numbers) advanced with one conditional UPDATE (SQLite)."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int]
