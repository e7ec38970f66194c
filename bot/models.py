"""What the chat layer stores: each person's timeline, and cards as live objects.

A card is one row however many people received it; a tap changes the row, and every
recipient's view is rendered from it, so "updated in place for everyone" holds by construction.
Platform adapters later record their own message ids per recipient to edit the copies they sent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base


class CardKind(StrEnum):
    APPROVAL = "approval"
    PICK = "pick"
    FIX = "fix"  # a held channel order, with the one-tap fixes the hold reasons suggest
    PARCEL = "parcel"  # a shipment in exception: contact the customer, reship, open a return
    CREDIT_NOTE = "credit_note"  # a rebate settled: finance approves or rejects the credit note
    WORK_ORDER = "work_order"  # a work order for the production leads: release, start, done


class CardState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Card(Base):
    __tablename__ = "chat_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CardKind] = mapped_column(String(16))
    # None for a card about no order (a credit note); ``order_no`` then holds that document's number.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"), index=True)
    order_no: Mapped[str] = mapped_column(String(32))
    # The order version the buttons act on; a tap carrying another version is stale.
    version: Mapped[int]
    state: Mapped[CardState] = mapped_column(String(16), default=CardState.OPEN)
    # {"action": "approve", "actor": "王芳", "at": iso time} once someone acted (or the order moved on).
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class ChatMessage(Base):
    """One entry of a person's timeline on one platform: what they typed or what they were sent."""

    __tablename__ = "chat_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    platform: Mapped[str] = mapped_column(String(16))
    direction: Mapped[Direction] = mapped_column(String(4))
    text: Mapped[str | None] = mapped_column(Text)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("chat_card.id"))
    # An image or a file sent with the message (``text`` is its caption); emptied when pruned.
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("chat_attachment.id", ondelete="SET NULL"), index=True)
    attachment: Mapped[ChatAttachment | None] = relationship(lazy="raise")
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_chat_message_user_platform", "user_id", "platform", "id"),)


class ChatAttachment(Base):
    """The bytes of an image or file sent into chat, stored once however many people it went to;
    timelines and outbox rows refer to it by id (see bot/attachments.py)."""

    __tablename__ = "chat_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # image | file
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)


class WorkflowRule(Base):
    """One rule of the workflows file, in file order (the first matching review rule decides)."""

    __tablename__ = "workflow_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(32), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


from bot.outbox import models as _outbox  # noqa: E402,F401  (the outbox table belongs to the chat layer's schema)
