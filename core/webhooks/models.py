"""An endpoint that receives the domain events it subscribed to, signed with its own secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)  # part of its outbox "chat": no ":"
    url: Mapped[str] = mapped_column(String(1000))
    events: Mapped[list[str]] = mapped_column(JSON)  # event names, or ["*"] for every event
    # ``whsec_`` + base64 of 32 random bytes; the HMAC key is the decoded bytes. Read by the
    # client when it sends, never copied into the outbox.
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # Health, written by the client after each attempt.
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
