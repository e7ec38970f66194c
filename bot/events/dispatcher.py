"""Delivering committed events: claim the undelivered rows, rebuild each event, publish it.

Events are claimed with a conditional UPDATE (``processed_at IS NULL``), so two server processes
(or a request and the background loop) never deliver the same event twice, and delivery happens in
the transaction that claims them: what the handlers wrote exists and the event is marked, or
neither. Whoever recorded the event (a chat request, the CLI, a webhook, a timer) does not matter;
a chat request delivers its own events inside its turn, before its reply is queued.
"""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, select, update

from bot.events.bus import BatchFailed, EventBus
from bot.events.registry import BUS
from core import turn as turns
from core.audit.models import DomainEvent
from core.auth import Actor
from core.context import Context
from core.db.stamp import remember, stamp_column
from core.events.catalogue import Event
from core.events.store import UnknownEvent, rebuild
from core.services import Services

log = logging.getLogger(__name__)
# Events per transaction. A batch holds the database's one writer (SQLite) while its handlers run,
# and everything else waits behind it, a channel's webhook ack included: small batches keep that
# wait short under load (200 at a time held acks for half a second in a flash sale).
BATCH = 25
# Built once: every chat turn that changed something runs it (building it cost more than running it).
_OLDEST = select(DomainEvent.id).where(DomainEvent.processed_at.is_(None)).order_by(DomainEvent.id).limit(BATCH)
_CLAIM = (
    update(DomainEvent)
    .where(DomainEvent.id.in_(_OLDEST.scalar_subquery()), DomainEvent.processed_at.is_(None))
    .values(processed_at=bindparam("now"))
    .returning(DomainEvent, stamp_column())
    .execution_options(synchronize_session=False)
)


async def deliver_pending(services: Services, bus: EventBus = BUS) -> int:
    """Deliver every undelivered event; returns how many were claimed.

    Inside a chat request's turn (``core.turn``) the claims and what the handlers write join the
    turn's transaction: the request's change, its consequences (cards, notifications) and its reply
    commit together, and the reply is queued after the card edits it caused, as a person reads them.
    """
    # The usual answer is "nothing", without the write lock. A turn holds the write lock already
    # and has usually just recorded something: its first claim is the question.
    if turns.current(services) is None and not await services.query(Actor.system("notifier"), _any_pending):
        return 0
    handled = 0
    notifier = Actor.system("notifier")
    while True:
        try:
            handled_now = await services.run(notifier, lambda ctx: _deliver_batch(ctx, bus))
        except BatchFailed:  # claimed and run again, each handler undone alone if it fails
            log.debug("a handler failed in a batch of events; running them one handler at a time")
            handled_now = await services.run(notifier, lambda ctx: _deliver_batch(ctx, bus, one_by_one=True))
        handled += handled_now
        if handled_now < BATCH:
            return handled


async def _any_pending(ctx: Context) -> bool:
    found = await ctx.session.scalar(select(DomainEvent.id).where(DomainEvent.processed_at.is_(None)).limit(1))
    return found is not None


async def _deliver_batch(ctx: Context, bus: EventBus, *, one_by_one: bool = False) -> int:
    """Claim a batch and run its handlers: all in this step (a failure raises ``BatchFailed`` and
    the step, claim included, is rolled back), or ``one_by_one``, each in a savepoint of its own."""
    rows = await _claim(ctx)
    events = _readable(rows)
    if one_by_one:
        await bus.publish_each(ctx, events)
    else:
        await bus.run_batch(ctx, events)
    return len(rows)


def _readable(rows: list[DomainEvent]) -> list[tuple[Event, int]]:
    events = []
    for row in rows:
        try:
            events.append((rebuild(row), row.id))
        except UnknownEvent:
            log.warning("event %s %s v%s: no event class reads it; skipped", row.id, row.name, row.version)
    return events


async def _claim(ctx: Context) -> list[DomainEvent]:
    """The oldest undelivered events, marked delivered and returned in one statement, in id order.

    The condition is checked again on each row as it is updated: an event another process claimed
    meanwhile (its UPDATE committed while this one waited for the row) is not returned here.

    Each row carries the config stamp too: the handlers read people, rules and endpoints from
    copies checked against it, and it is read once per transaction, here rather than in a
    statement (and a savepoint) of the first handler that asks."""
    claimed = (await ctx.session.execute(_CLAIM, {"now": ctx.now()})).all()
    if claimed:
        remember(ctx.session, claimed[0][1])
    return sorted((row for row, _ in claimed), key=lambda row: row.id)
