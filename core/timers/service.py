"""Scheduling and firing durable timers, safely from several processes at once.

A due timer is *claimed* with one UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
single writer does the same job), which sets a lease. Its handler then runs in a transaction of
its own that also marks the timer done, on the condition that this process still holds the
claim: if the lease lapsed and another process took the timer over, the late finisher's work is
rolled back. So a timer's effect happens exactly once, and a crash only delays it by one lease.
Timers that fell due while no process was running are simply due, and fire on the next tick:
nothing depends on a scheduler's misfire grace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.auth import Actor
from core.context import Context
from core.services import Services
from core.timers.models import Timer, TimerStatus

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5

Handler = Callable[[Context, dict[str, Any]], Awaitable[None]]


async def schedule(ctx: Context, kind: str, key: str, due_at: datetime, **payload: Any) -> bool:
    """Add a timer in the caller's transaction; False if one with this key exists already."""
    try:
        async with ctx.session.begin_nested():
            await ctx.session.execute(
                insert(Timer).values(
                    kind=kind,
                    key=key,
                    due_at=due_at,
                    payload=payload,
                    status=TimerStatus.PENDING,
                    attempts=0,
                    created_at=ctx.now(),
                )
            )
        return True
    except IntegrityError:
        return False


async def cancel(ctx: Context, key_prefix: str) -> int:
    """Cancel pending timers whose key starts with ``key_prefix`` (e.g. all of one order's)."""
    result = await ctx.session.execute(
        update(Timer)
        .where(Timer.key.startswith(key_prefix, autoescape=True), Timer.status == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


async def claim_due(services: Services, *, limit: int = 200) -> list[Claimed]:
    async with services.unit_of_work(Actor.system("timers")) as ctx:
        now = ctx.now()
        lease_until = now + LEASE
        due = or_(
            and_(Timer.status == TimerStatus.PENDING, Timer.due_at <= now),
            and_(Timer.status == TimerStatus.RUNNING, Timer.locked_until < now),
        )
        ids = select(Timer.id).where(due).order_by(Timer.due_at, Timer.id).limit(limit)
        if ctx.session.bind.dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
        rows = await ctx.session.execute(
            update(Timer)
            .where(Timer.id.in_(ids.scalar_subquery()))
            .values(status=TimerStatus.RUNNING, locked_until=lease_until, attempts=Timer.attempts + 1)
            .returning(Timer.id, Timer.kind, Timer.payload, Timer.attempts)
            .execution_options(synchronize_session=False)
        )
        return [Claimed(i, k, p or {}, a, lease_until) for i, k, p, a in rows]


async def fire(services: Services, timer: Claimed, handlers: dict[str, Handler]) -> bool:
    """Run one claimed timer; True when it is done (its effect committed exactly once)."""
    handler = handlers.get(timer.kind)
    try:
        async with services.unit_of_work(Actor.system(f"timer:{timer.kind}")) as ctx:
            if handler is None:
                raise LookupError(f"no handler for timer kind {timer.kind!r}")
            await handler(ctx, timer.payload)
            finished = await ctx.session.execute(
                update(Timer)
                .where(
                    Timer.id == timer.id, Timer.status == TimerStatus.RUNNING, Timer.locked_until == timer.lease_until
                )
                .values(status=TimerStatus.DONE, fired_at=ctx.now(), locked_until=None)
                .execution_options(synchronize_session=False)
            )
            if finished.rowcount != 1:
                raise _LostClaim()
        return True
    except _LostClaim:
        log.warning("timer %s was taken over by another process; this run is rolled back", timer.id)
        return False
    except Exception as error:
        log.exception("timer %s (%s) failed, attempt %s", timer.id, timer.kind, timer.attempts)
        await _failed(services, timer, error)
        return False


class _LostClaim(Exception):
    pass


async def _failed(services: Services, timer: Claimed, error: Exception) -> None:
    """Try again after a backoff, or give up after MAX_ATTEMPTS (status failed, for a person to see)."""
    async with services.unit_of_work(Actor.system("timers")) as ctx:
        retry_at = ctx.now() + timedelta(seconds=min(3600, 30 * 2**timer.attempts))
        status = TimerStatus.FAILED if timer.attempts >= MAX_ATTEMPTS else TimerStatus.PENDING
        await ctx.session.execute(
            update(Timer)
            .where(Timer.id == timer.id, Timer.locked_until == timer.lease_until)
            .values(status=status, due_at=retry_at, locked_until=None, last_error=str(error)[:500])
            .execution_options(synchronize_session=False)
        )


async def run_due(services: Services, handlers: dict[str, Handler], *, limit: int = 200) -> int:
    """One tick: claim what is due and fire it; returns how many fired."""
    fired = 0
    while True:
        batch = await claim_due(services, limit=limit)
        for timer in batch:
            fired += await fire(services, timer, handlers)
        if len(batch) < limit:
            return fired
