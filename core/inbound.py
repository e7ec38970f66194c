"""Inbound de-duplication: a platform's retry of an event we already took never acts twice.

Every adapter and webhook records ``(source, event_id)`` before acting on the event (chat
deliveries: just before, in their own transaction, so a retry arriving while the first run is
still going is recognised too); the primary key makes a second delivery fail that insert, so it
is recognised and answered without acting. Keys are kept for a window (longer than any sender's retries) and then
pruned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.context import Context
from core.db.base import Base

DEFAULT_WINDOW = timedelta(days=3)  # AfterShip retries for ~68 h, Slack ~5 min, Telegram 24 h


class InboundEvent(Base):
    __tablename__ = "inbound_event"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


async def first_time(ctx: Context, source: str, event_id: str) -> bool:
    """True the first time ``(source, event_id)`` is seen; False for a repeat (do nothing then)."""
    try:
        async with ctx.session.begin_nested():
            await ctx.session.execute(
                insert(InboundEvent).values(source=source, event_id=str(event_id)[:200], received_at=ctx.now())
            )
        return True
    except IntegrityError:
        return False


async def prune(ctx: Context, window: timedelta = DEFAULT_WINDOW) -> int:
    result = await ctx.session.execute(delete(InboundEvent).where(InboundEvent.received_at < ctx.now() - window))
    return result.rowcount
