"""Channels, what each remembers of its SKUs, and the inbox of deliveries it sent us.

The inbox row is the durable promise behind "ack first, then work": a delivery is acknowledged
only once its raw bytes are committed here, and the worker turns rows into orders afterwards,
so a crash between the two delays an order, never loses it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class Channel(Base):
    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    shop_domain: Mapped[str | None] = mapped_column(String(200))
    default_tier: Mapped[str] = mapped_column(String(32), default="standard")
    api_url: Mapped[str | None] = mapped_column(String(500))
    accept_test_orders: Mapped[bool] = mapped_column(default=False)
    poll_minutes: Mapped[int] = mapped_column(default=15)  # 0: never poll
    active: Mapped[bool] = mapped_column(default=True)
    last_delivery_at: Mapped[datetime | None]
    # Reconciliation: orders changed at or after ``polled_until`` are asked for at ``next_poll_at``;
    # ``poll_locked_until`` is the lease of the process polling now.
    polled_until: Mapped[datetime | None]
    last_poll_at: Mapped[datetime | None]
    last_poll_error: Mapped[str | None] = mapped_column(String(500))
    next_poll_at: Mapped[datetime | None]
    poll_locked_until: Mapped[datetime | None]


class ChannelSku(Base):
    """A channel's SKU (or variant id) and ours: from the master-data file, or learned from a fix."""

    __tablename__ = "channel_sku"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    channel_sku: Mapped[str] = mapped_column(String(128))
    sku: Mapped[str] = mapped_column(String(64))
    learned: Mapped[bool] = mapped_column(default=False)  # True: a person mapped it on a held order

    __table_args__ = (UniqueConstraint("channel_id", "channel_sku"),)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # stored, not yet turned into an order (or waiting for its next attempt)
    DONE = "done"
    DEAD = "dead"  # failed every attempt; an admin was told


class ChannelDelivery(Base):
    __tablename__ = "channel_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))  # the channel's delivery key (repeated on its retries)
    topic: Mapped[str] = mapped_column(String(64))
    order_key: Mapped[str | None] = mapped_column(String(128))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime]
    occurred_at: Mapped[datetime | None]
    status: Mapped[DeliveryStatus] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    outcome: Mapped[str | None] = mapped_column(String(200))  # what became of it: "created SO-100001", …
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("channel_id", "key"),
        Index("ix_channel_delivery_due", "status", "next_attempt_at"),
    )
