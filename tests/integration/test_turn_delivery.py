"""A chat turn delivers its own events with no savepoint of the batch's own: when a handler fails,
the batch is rolled back and run again a handler per savepoint, inside the same turn, so the
change and the reply stand, the failing handler's writes are undone alone, and everything else
the change set off happens once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import gateway
from bot.events.registry import BUS
from bot.gateway import Inbound
from bot.models import Card, CardKind, ChatMessage
from core.audit.models import DomainEvent
from core.events.catalogue import ApprovalRequested
from tests.support.platforms import demo_services, order_no


async def test_a_failing_handler_in_a_turn_is_undone_alone_and_the_rest_happens_once(tmp_path, monkeypatch):
    services = await demo_services(tmp_path)

    async def broken(ctx, event):  # writes a card, then fails: the card must not survive
        now = ctx.now()
        ctx.session.add(
            Card(kind="pick", order_id=1, order_no="SO-BROKEN", version=1, payload={}, created_at=now, updated_at=now)
        )
        await ctx.session.flush()
        raise RuntimeError("handler down")

    monkeypatch.setitem(BUS.handlers, ApprovalRequested, (*BUS.handlers[ApprovalRequested], broken))
    placed = await gateway.message(services, Inbound("console", "lilei", "lilei"), "/neworder C002 TEA-001*45")
    number = order_no(placed.texts[0])

    async with services.reading() as session:
        cards = list(await session.execute(select(Card.id, Card.kind, Card.order_no)))
        undelivered = await session.scalar(select(func.count()).where(DomainEvent.processed_at.is_(None)))
        on_timelines = await session.scalar(select(func.count()).where(ChatMessage.card_id == cards[0].id))
    assert [(kind, no) for _, kind, no in cards] == [(CardKind.APPROVAL, number)]  # once; the broken card gone
    assert undelivered == 0
    assert on_timelines == 1  # 王芳's approval card on her timeline, written once
    await services.close()
