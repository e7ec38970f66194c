"""An API key as stored: its name, scopes and limits, and a hash of the key (never the key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters ("oms_Xk3f…"), so a person can tell which key a log line means.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the whole key: the key is 256 random bits, so a slow hash would add nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    warehouses: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every warehouse
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))  # set: that customer only
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
