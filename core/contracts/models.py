"""A contract's milestones (each one an invoice once accepted), the costs logged against it, and
the labour rates (per person or role) that price logged hours."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class MilestoneStatus(StrEnum):
    """pending → (accepted) invoiced, or via in_review when a rule asks for approval; → paid."""

    PENDING = "pending"  # not yet accepted by the customer
    IN_REVIEW = "in_review"  # accepted; its invoice waits for the approval steps a rule asked for
    INVOICED = "invoiced"  # the invoice is issued: a receivable on the customer
    PAID = "paid"
    CANCELLED = "cancelled"  # dropped with its contract before it was invoiced


class CostKind(StrEnum):
    LABOUR = "labour"
    MATERIAL = "material"


class Milestone(Base):
    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    seq: Mapped[int]  # 1, 2, 3 … in the order they are accepted
    name: Mapped[str] = mapped_column(String(200))
    percent: Mapped[Decimal | None]  # the share of the contract value it was given as, if any
    amount: Mapped[Decimal]  # what its invoice is for
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[MilestoneStatus] = mapped_column(String(16), default=MilestoneStatus.PENDING)
    # Approval steps by rule, as for an order's review: [{"role": ...} | {"user": ..., "mode": ...}].
    approval_levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    approval_level: Mapped[int] = mapped_column(default=0)
    approved_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule: Mapped[str | None] = mapped_column(String(200))
    # How often it went back to pending (a rejected invoice): its overdue timers are keyed by it.
    round: Mapped[int] = mapped_column(default=0)
    accepted_by: Mapped[str | None] = mapped_column(String(200))
    accepted_at: Mapped[datetime | None]
    invoice_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    invoiced_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("order_id", "seq"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class ProjectCost(Base):
    """Labour or material used on a contract, at its cost when it was logged."""

    __tablename__ = "project_cost"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    kind: Mapped[CostKind] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))  # the worker, or the product's name
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    qty: Mapped[Decimal]  # hours, or units
    unit_cost: Mapped[Decimal]
    amount: Mapped[Decimal]
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


class LabourRate(Base):
    """What an hour of a person's (or a role's) work costs: ``labour_rates:`` in the master data."""

    __tablename__ = "labour_rate"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    rate: Mapped[Decimal]
