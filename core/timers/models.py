"""Durable timers: reminders, escalations and checks as rows, so they survive restarts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class TimerStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # claimed by a process until ``locked_until``; a crash lets the lease lapse
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Timer(Base):
    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # One live timer per key (e.g. "approval.remind:SO-100001:v3"): scheduling twice is a no-op.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[TimerStatus] = mapped_column(String(16), default=TimerStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_timer_status_due", "status", "due_at"),)
