"""Rebate agreements (返点), their ledger of accruals and reversals, credit notes, and credit used.

The ledger is append-only: an order completed adds an ``accrual`` row, a refunded return adds a
``reversal`` row, each with the rebate it changes (the difference between the period's rebate
before and after it, so the rows of a period always add up to its rebate on its whole volume).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class EntryKind(StrEnum):
    ACCRUAL = "accrual"  # an order completed
    REVERSAL = "reversal"  # goods of a completed order refunded


class CreditNoteStatus(StrEnum):
    PENDING = "pending"  # waiting for finance on the card
    APPROVED = "approved"  # the customer's next orders can use it
    REJECTED = "rejected"  # the period stays unsettled; it can be settled again


class RebateAgreement(Base):
    """For one customer or one customer group: a percentage of net sales per period, by volume step."""

    __tablename__ = "rebate_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), unique=True)
    customer_group: Mapped[str | None] = mapped_column(String(64), unique=True)
    period: Mapped[Period] = mapped_column(String(8))
    product_line: Mapped[str | None] = mapped_column(String(64))
    # [{"above": "100000.00", "rate": "2.00"}, ...], rising; the rate is a percentage.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("(customer_id IS NULL) <> (customer_group IS NULL)", name="one_subject"),)


class RebateEntry(Base):
    __tablename__ = "rebate_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "accrual:SO-100001" or "reversal:RMA-100001": each order accrues once, each return reverses once.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("rebate_agreement.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    period_start: Mapped[date] = mapped_column(Date)
    kind: Mapped[EntryKind] = mapped_column(String(16))
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    net_sales: Mapped[Decimal]  # this row's change to the period's net sales (negative for a return)
    rebate: Mapped[Decimal]  # this row's change to the period's rebate (a step crossed: the catch-up)
    rate: Mapped[Decimal]  # the rate the period's volume reached with this row
    period_net: Mapped[Decimal]  # the period's net sales after this row
    booked_at: Mapped[datetime]

    __table_args__ = (Index("ix_rebate_entry_customer_period", "customer_id", "agreement_id", "period_start"),)


class CreditNote(Base):
    """A period's rebate settled: once finance approves it, credit the customer's next orders use."""

    __tablename__ = "credit_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_no: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("rebate_agreement.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    net_sales: Mapped[Decimal]
    rate: Mapped[Decimal]
    amount: Mapped[Decimal]
    status: Mapped[CreditNoteStatus] = mapped_column(String(16), default=CreditNoteStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class CreditUse(Base):
    """Rebate credit an order used: its total is that much lower. An order cancelled or rejected
    gives it back (it no longer counts as used); an order uses credit once however often it is priced."""

    __tablename__ = "credit_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), unique=True)
    amount: Mapped[Decimal]
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)
