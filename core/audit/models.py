"""The append-only history: audit records, and domain events waiting to be delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class AuditRecord(Base):
    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))  # order, return, shipment, stock, ...
    entity_key: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(200))  # display name or "system"
    source: Mapped[str] = mapped_column(String(64))  # cli, console:lilei, api, webhook:shopify, ...
    reason: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_audit_record_order", "order_id", "id"),
        Index("ix_audit_record_entity", "entity", "entity_key"),
        Index("ix_audit_record_created", "created_at"),  # the stage report reads the last days
    )


class DomainEvent(Base):
    """A fact to tell the outside world, written in the same transaction as the change behind it.

    Written and read through ``core.events.store``; ``processed_at`` is set when it is delivered.
    """

    __tablename__ = "domain_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # of the event's fields
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
