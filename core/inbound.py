"""Inbound de-duplication: a platform's retry of an event we already took never acts twice.

Every adapter and webhook records ``(source, event_id)`` before acting on the event (chat
deliveries: just before, in their own transaction, so a retry arriving while the first run is
still going is recognised too); the primary key makes a second delivery fail that insert, so it
is recognised and answered without acting. Keys are kept for a window (longer than any sender's retries) and then
pruned.

A key forgotten is a replay that acts again, so the same window bounds what is trusted at all: a
signed request stamped older than ``SIGNED_MAX_AGE`` is refused (``stale``), since its key may be
gone, and a signature that covers only a timestamp is accepted once (``first_use``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import String, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.context import Context
from core.db.base import Base

DEFAULT_WINDOW = timedelta(days=3)  # AfterShip retries for ~68 h, Slack ~5 min, Telegram 24 h
# A replay is refused by its key only while the key is kept. The hour's margin must exceed
# SIGNED_MAX_AHEAD: a sender whose clock runs ahead stamps a request later than we store its key
# (a test keeps the three in step).
SIGNED_MAX_AGE = DEFAULT_WINDOW - timedelta(hours=1)
SIGNED_MAX_AHEAD = timedelta(minutes=5)


class InboundEvent(Base):
    __tablename__ = "inbound_event"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class Use(StrEnum):
    """What ``first_use`` found for a credential."""

    FIRST = "first"  # never seen: act on the request
    REPEAT = "repeat"  # seen with this very content: a re-delivery, answer as before and do nothing
    REUSED = "reused"  # seen with other content: someone replays a captured signature with a new body


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


async def first_use(ctx: Context, source: str, credential: str, content: bytes) -> Use:
    """Claim a signature (``credential``, at most 128 characters) for ``content``, once.

    For signatures that do not cover the body (DingTalk's robot ``timestamp`` + ``sign``): the
    credential is the key, so two requests racing with it cannot both win, and a second row remembers
    which body it came with, so the sender's own re-delivery is told apart from a forged body."""
    if len(credential) > 128:
        raise ValueError("credential longer than 128 characters")
    fingerprint = f"{credential}#{hashlib.sha256(content).hexdigest()}"
    if await first_time(ctx, source, credential):
        await first_time(ctx, source, fingerprint)
        return Use.FIRST
    same = await ctx.session.scalar(
        select(InboundEvent.event_id).where(InboundEvent.source == source, InboundEvent.event_id == fingerprint)
    )
    return Use.REPEAT if same is not None else Use.REUSED


def stale(signed_at: datetime, now: datetime) -> str | None:
    """Why a request signed at ``signed_at`` is not trusted at ``now``; None when it is."""
    if signed_at < now - SIGNED_MAX_AGE:
        return f"timestamp older than {_hours(SIGNED_MAX_AGE):g} h (a replay?)"
    if signed_at > now + SIGNED_MAX_AHEAD:
        return f"timestamp more than {_hours(SIGNED_MAX_AHEAD) * 60:g} min ahead of our clock"
    return None


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600


async def prune(ctx: Context, window: timedelta = DEFAULT_WINDOW) -> int:
    result = await ctx.session.execute(delete(InboundEvent).where(InboundEvent.received_at < ctx.now() - window))
    return result.rowcount
