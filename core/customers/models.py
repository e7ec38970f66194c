"""Customers, their delivery addresses, and the credit they may run up."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(32), default="standard")
    # A distributor group (master data ``group:``): its price list and rebate agreement apply.
    customer_group: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    credit_limit: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    # Credit-term orders confirmed but not yet paid.
    outstanding_balance: Mapped[Decimal] = mapped_column(default=Decimal("0"))

    addresses: Mapped[list[Address]] = relationship(lazy="raise", cascade="all, delete-orphan", order_by="Address.id")


class Address(Base):
    __tablename__ = "customer_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(64), default="default")
    contact: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(16))
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    __table_args__ = (UniqueConstraint("customer_id", "label"),)

    def snapshot(self) -> dict[str, object]:
        """The address as copied onto an order, so later edits to the customer don't move shipped goods."""
        return {
            "label": self.label,
            "contact": self.contact,
            "phone": self.phone,
            "province": self.province,
            "city": self.city,
            "line": self.line,
            "postcode": self.postcode,
            "lat": self.lat,
            "lon": self.lon,
        }
