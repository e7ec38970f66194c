"""Scheduling and firing durable timers, safely from several processes at once.

Due timers are *claimed* with one UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
single writer does the same job), which sets a lease. Their handlers then run in one transaction
(each in a savepoint) that also marks them done, on the condition that this process still holds
the claim: if the lease lapsed and another process took a timer over, the late finisher's work is
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

from sqlalchemy import and_, bindparam, or_, select, update

from core.auth import Actor
from core.context import Context
from core.db import conflicts
from core.services import Services
from core.timers.models import Timer, TimerStatus

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5

Handler = Callable[[Context, dict[str, Any]], Awaitable[None]]


async def schedule(ctx: Context, kind: str, key: str, due_at: datetime, **payload: Any) -> bool:
    """Add a timer in the caller's transaction; False if one with this key exists already."""
    return await schedule_many(ctx, [(kind, key, due_at, payload)]) == 1


async def schedule_many(ctx: Context, timers: list[tuple[str, str, datetime, dict[str, Any]]]) -> int:
    """Add many timers with one statement (an import, a bulk reminder); returns how many were new."""
    if not timers:
        return 0
    now = ctx.now()
    rows = [
        {
            "kind": kind,
            "key": key,
            "due_at": due_at,
            "payload": payload,
            "status": TimerStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for kind, key, due_at, payload in timers
    ]
    result = await ctx.session.execute(
        conflicts.insert(ctx, Timer).values(rows).on_conflict_do_nothing(index_elements=["key"])
    )
    return result.rowcount


async def cancel(ctx: Context, key_prefix: str) -> int:
    """Cancel pending timers whose key starts with ``key_prefix`` (e.g. all of one order's)."""
    result = await ctx.session.execute(
        update(Timer)
        .where(Timer.key.startswith(key_prefix, autoescape=True), Timer.status == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def cancel_keys(ctx: Context, *keys: str) -> int:
    """Cancel the pending timers with exactly these keys (a closed card's reminder and escalation:
    by prefix, card 7's would take card 70's with them)."""
    result = await ctx.session.execute(_CANCEL_KEYS, {"keys": list(keys)})
    return result.rowcount


_CANCEL_KEYS = (  # built once: every closed approval card runs it
    update(Timer)
    .where(Timer.key.in_(bindparam("keys", expanding=True)), Timer.status == TimerStatus.PENDING)
    .values(status=TimerStatus.CANCELLED)
    .execution_options(synchronize_session=False)
)


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


async def fire_batch(services: Services, timers: list[Claimed], handlers: dict[str, Handler]) -> int:
    """Run claimed timers together: one transaction, each handler in a savepoint of its own, and one
    conditional UPDATE marking the successful ones done. A failing handler is retried alone later."""
    done: list[Claimed] = []
    failed: list[tuple[Claimed, Exception]] = []
    try:
        async with services.unit_of_work(Actor.system("timers")) as ctx:
            for timer in timers:
                handler = handlers.get(timer.kind)
                try:
                    if handler is None:
                        raise LookupError(f"no handler for timer kind {timer.kind!r}")
                    async with ctx.session.begin_nested():
                        await handler(ctx, timer.payload)
                    done.append(timer)
                except Exception as error:
                    log.exception("timer %s (%s) failed, attempt %s", timer.id, timer.kind, timer.attempts)
                    failed.append((timer, error))
            if done:
                finished = await ctx.session.execute(
                    update(Timer)
                    .where(
                        Timer.id.in_([t.id for t in done]),
                        Timer.status == TimerStatus.RUNNING,
                        Timer.locked_until == done[0].lease_until,
                    )
                    .values(status=TimerStatus.DONE, fired_at=ctx.now(), locked_until=None)
                    .execution_options(synchronize_session=False)
                )
                if finished.rowcount != len(done):
                    raise _LostClaim()
    except _LostClaim:
        log.warning("part of a timer batch was taken over by another process; the batch is rolled back")
        return 0
    for timer, error in failed:
        await _failed(services, timer, error)
    return len(done)


async def run_due(services: Services, handlers: dict[str, Handler], *, limit: int = 200) -> int:
    """One tick: claim what is due and fire it in batches; returns how many fired."""
    fired = 0
    while True:
        batch = await claim_due(services, limit=limit)
        if batch:
            fired += await fire_batch(services, batch, handlers)
        if len(batch) < limit:
            return fired
