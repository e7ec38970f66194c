"""Price lists (by customer, customer group, tier and channel, with quantity breaks) and promotions, as stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base


class PriceList(Base):
    __tablename__ = "price_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32))
    # A list for one customer group, or for one customer: these win over tier and channel lists.
    customer_group: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))

    items: Mapped[list[PriceListItem]] = relationship(lazy="raise", cascade="all, delete-orphan")


class PriceListItem(Base):
    __tablename__ = "price_list_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    min_qty: Mapped[int] = mapped_column(default=1)
    price: Mapped[Decimal]

    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", "min_qty"),
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("price >= 0", name="price_non_negative"),
    )


class PromotionRow(Base):
    """A promotion; its kind-specific terms (percent, spend/save, bundle) live in ``terms``."""

    __tablename__ = "promotion"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
