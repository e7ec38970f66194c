"""Products and kits (a kit SKU is made of component SKUs and has no stock of its own).

A product's bill of materials (what it is *made* of) lives in ``core.production.models``."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal]
    cost: Mapped[Decimal | None]
    product_line: Mapped[str | None] = mapped_column(String(100))
    safety_stock: Mapped[int] = mapped_column(default=0)
    # Set while total available sits below safety stock, so the alert fires once per crossing.
    below_safety: Mapped[bool] = mapped_column(default=False)
    is_kit: Mapped[bool] = mapped_column(default=False)
    # Made when ordered (core.production): a shortage becomes a work order, not a purchase request.
    make_to_order: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    components: Mapped[list[KitComponent]] = relationship(
        foreign_keys="KitComponent.kit_id",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="KitComponent.component_id",
    )

    __table_args__ = (CheckConstraint("safety_stock >= 0", name="safety_stock_non_negative"),)


class KitComponent(Base):
    __tablename__ = "kit_component"

    kit_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    qty: Mapped[int]

    component: Mapped[Product] = relationship(foreign_keys=[component_id], lazy="raise")

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
