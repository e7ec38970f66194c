"""People, their roles, and the chat identities that map to them."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Warehouse staff see and act on their own warehouses only.
    warehouses: Mapped[list[str]] = mapped_column(JSON, default=list)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)

    identities: Mapped[list[ChatIdentity]] = relationship(lazy="raise", cascade="all, delete-orphan")


class ChatIdentity(Base):
    __tablename__ = "chat_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("platform", "external_id"),)
