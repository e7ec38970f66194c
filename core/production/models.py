"""Bills of materials and work orders (生产工单): what a product is made of, and what is being made.

A bill of materials line says how much of a component one unit of the product takes (a Decimal:
0.25 kg of resin) and how much of it is lost on the way (``scrap_rate`` 0.05 = 5 %). A component
may have a bill of its own (a sub-assembly); the master-data loader refuses a cycle.

A work order makes ``qty`` units of one make-to-order product for one sales order. Its materials
are what it draws from stock, per component: ``required`` units, ``reserved`` of them held on the
shelves now (``WorkOrderReservation`` rows, one per warehouse), the rest on purchase requests.
A sub-assembly short on the shelves is made inside the same work order (its components are among
the materials, ``made`` says how many units of it), so a work order is always one job for the lead.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base, Measure


class BomComponent(Base):
    __tablename__ = "bom_component"

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(Measure())
    scrap_rate: Mapped[Decimal] = mapped_column(Measure(), default=Decimal("0"))

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("scrap_rate >= 0 AND scrap_rate < 1", name="scrap_rate_range"),
    )


class WorkOrderStatus(StrEnum):
    """Stable names (API, events, database); never rename one."""

    PLANNED = "planned"  # created from an order; materials reserved where on hand
    RELEASED = "released"  # handed to the shop floor (an MES sees it from here)
    IN_PROGRESS = "in_progress"  # being made; its materials are all on the shelves
    DONE = "done"  # terminal: materials consumed, finished goods received for the order
    CANCELLED = "cancelled"  # terminal: reservations released, purchase requests cancelled


class WorkOrder(Base):
    __tablename__ = "work_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    mo_no: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    # Where the materials are drawn and the finished goods received (the first warehouse by priority).
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    qty: Mapped[int]
    status: Mapped[WorkOrderStatus] = mapped_column(String(16), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    materials: Mapped[list[WorkOrderMaterial]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="WorkOrderMaterial.id"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)

    @property
    def short(self) -> dict[int, int]:
        """{component product id: units still missing from the shelves} (needs ``materials`` loaded)."""
        return {m.product_id: m.required - m.reserved for m in self.materials if m.required > m.reserved}


class WorkOrderMaterial(Base):
    __tablename__ = "work_order_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    required: Mapped[int]  # units drawn from stock
    reserved: Mapped[int] = mapped_column(default=0)  # of them, held on the shelves now
    made: Mapped[int] = mapped_column(default=0)  # a sub-assembly: units made inside this work order

    __table_args__ = (
        CheckConstraint("required >= 0", name="required_non_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= required", name="reserved_within_required"),
        CheckConstraint("made >= 0", name="made_non_negative"),
    )


class WorkOrderReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"  # used up when the work order was done


class WorkOrderReservation(Base):
    """Units of one material held in one warehouse for one work order (``stock_level.reserved``)."""

    __tablename__ = "work_order_reservation"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    qty: Mapped[int]
    status: Mapped[WorkOrderReservationStatus] = mapped_column(String(16), default=WorkOrderReservationStatus.ACTIVE)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_work_order_reservation_order_status", "work_order_id", "status"),
        Index("ix_work_order_reservation_product_status", "product_id", "status"),
    )
