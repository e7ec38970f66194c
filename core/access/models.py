"""Sign-in links and web sessions. Only a hash of each secret is stored: a leaked database
backup opens no console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class SignInLink(Base):
    """A single-use link that opens one session; it expires minutes after it was issued."""

    __tablename__ = "signin_link"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    issued_via: Mapped[str] = mapped_column(String(64))  # "dingtalk", "cli", ...: how the person asked
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: revocable, ends after a quiet spell (idle) and at a fixed time (absolute)."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    signed_in_via: Mapped[str] = mapped_column(String(64))
    remote: Mapped[str | None] = mapped_column(String(200))  # address and browser it was opened from
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # absolute
    revoked_at: Mapped[datetime | None]
