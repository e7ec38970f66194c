"""Warehouses, stock levels and the audited movements, reservations and purchase requests behind them.

``stock_level`` carries CHECK constraints so that even a bug in the service cannot store negative
or oversold stock: the database refuses the write.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.catalog.models import Product
from core.db.base import Base


class Warehouse(Base):
    __tablename__ = "warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)


class StockLevel(Base):
    __tablename__ = "stock_level"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # Where the SKU sits in the warehouse (bin, shelf: "A-03-2"); pick lists walk them in order.
    location: Mapped[str | None] = mapped_column(String(64))

    product: Mapped[Product] = relationship(lazy="raise")
    warehouse: Mapped[Warehouse] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("product_id", "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("reserved <= on_hand", name="not_oversold"),
    )

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # goods in
    ADJUSTMENT = "adjustment"  # stock count correction, damage, master-data load
    RESERVE = "reserve"  # allocated to an order (reserved +)
    RELEASE = "release"  # reservation given back (cancel, re-allocation)
    SHIP = "ship"  # goods out (on_hand − and reserved −)
    RESTOCK = "restock"  # a returned item passed inspection
    # Used up: by a work order (its materials: on_hand − and reserved −) or on a project contract
    # (on_hand −, logged as the contract's cost).
    CONSUME = "consume"
    PRODUCE = "produce"  # a work order's finished goods came off the line (on_hand +)


class StockMovement(Base):
    __tablename__ = "stock_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    kind: Mapped[MovementKind] = mapped_column(String(16))
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    reserved_delta: Mapped[int] = mapped_column(default=0)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"  # shipped


class Reservation(Base):
    """Units of one component SKU held in one warehouse for one order line."""

    __tablename__ = "reservation"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    qty: Mapped[int]
    status: Mapped[ReservationStatus] = mapped_column(String(16), default=ReservationStatus.ACTIVE)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_reservation_order_status", "order_id", "status"),
        Index("ix_reservation_product_status", "product_id", "warehouse_id", "status"),
    )


class PurchaseRequestStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class PurchaseRequest(Base):
    """A request to buy the units a backordered order (or a work order's material) is short of."""

    __tablename__ = "purchase_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"), index=True)
    # Set for a work order's short material (core.production); None for an order's own shortage.
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    qty: Mapped[int]
    status: Mapped[PurchaseRequestStatus] = mapped_column(String(16), default=PurchaseRequestStatus.OPEN)
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
