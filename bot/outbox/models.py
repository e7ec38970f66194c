"""Messages on their way to a chat platform, written in the transaction that decided to send them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models import ChatAttachment
from core.db.base import Base


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed under a lease; a crashed sender's lease lapses and it is sent again
    SENT = "sent"
    DEAD = "dead"  # gave up after repeated failures; the admins were told


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))  # the platform's user or chat id
    kind: Mapped[str] = mapped_column(String(8))  # send | edit
    # Sent along to the platform client so a retried send can be recognised (at least once + key).
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("chat_card.id"))
    # An image or a file to send (its bytes are stored once, bot/attachments.py); the payload names it.
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("chat_attachment.id", ondelete="SET NULL"), index=True)
    attachment: Mapped[ChatAttachment | None] = relationship(lazy="raise")
    status: Mapped[OutboxStatus] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    # The platform's handle for editing the message later; WeCom's carries its response codes.
    platform_message_id: Mapped[str | None] = mapped_column(String(1000))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_chat", "platform", "recipient", "id"),
        # Every card change looks up the card's sent copies (to edit them all): keep it off a full scan.
        Index("ix_outbox_message_card", "card_id"),
    )
