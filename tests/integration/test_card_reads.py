"""One change's reactions read the order's open cards once, and tell everyone in one INSERT: what a
later question is answered from must still be the truth (a card opened since, one closed, one
undone by a rolled-back savepoint), and the rows written in bulk must be whole."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import event, func, select, update

from bot import cards, gateway
from bot.delivery import Reach, active_people, tell
from bot.gateway import Inbound
from bot.models import Card, CardKind, CardState, ChatMessage, Direction
from bot.outbox.models import OutboxMessage
from core.auth import Actor
from core.orders.repository import load_order
from core.services import Services
from tests.support.platforms import demo_services, order_no
from tests.support.statements import statements

SYSTEM = Actor.system("test")


def card_reads(seen: list[str]) -> list[str]:
    return [statement for statement in seen if statement.startswith("SELECT chat_card")]


async def awaiting_approval(tmp_path) -> tuple[Services, str]:
    services = await demo_services(tmp_path)
    placed = await gateway.message(services, Inbound("console", "lilei", "lilei"), "/neworder C002 TEA-001*45")
    return services, order_no(placed.texts[0])


async def test_open_cards_are_read_once_and_then_follow_what_the_transaction_does(tmp_path):
    services, number = await awaiting_approval(tmp_path)
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await load_order(ctx, number)
        with statements(services) as seen:
            [approval] = await cards._open_cards(ctx, order.id)
            assert await cards._open_cards(ctx, order.id, CardKind.APPROVAL) == [approval]
            assert await cards._open_cards(ctx, order.id, CardKind.PICK) == []
        assert len(card_reads(seen)) == 1

        approval.state = CardState.CLOSED  # closed in memory: not open any more
        assert await cards._open_cards(ctx, order.id) == []

        pick = cards.open_card(ctx, CardKind.PICK, order)  # a card opened since is seen
        assert await cards._open_cards(ctx, order.id) == [pick]
        with statements(services) as seen:
            assert await cards._open_cards(ctx, order.id) == [pick]
        assert card_reads(seen) == []

        await ctx.session.execute(update(Card).where(Card.id == pick.id).values(state=CardState.CLOSED))
        with statements(services) as seen:  # a card written by a statement: asked again
            assert await cards._open_cards(ctx, order.id) == []
        assert len(card_reads(seen)) == 1
    await services.close()


async def test_a_rolled_back_savepoint_forgets_the_cards_it_read(tmp_path):
    services, number = await awaiting_approval(tmp_path)
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await load_order(ctx, number)
        savepoint = await ctx.session.begin_nested()
        [approval] = await cards._open_cards(ctx, order.id)
        cards.open_card(ctx, CardKind.PICK, order)
        await ctx.session.flush()
        await savepoint.rollback()  # the pick card is undone
        with statements(services) as seen:
            assert [c.id for c in await cards._open_cards(ctx, order.id)] == [approval.id]
        assert len(card_reads(seen)) == 1
    await services.close()


async def test_a_notification_to_several_people_is_one_insert_per_table_and_every_row_whole(tmp_path):
    services, number = await awaiting_approval(tmp_path)
    async with services.reading() as session:
        card = (await session.scalars(select(Card).where(Card.order_no == number))).one()
    inserts: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.startswith("INSERT"):
            inserts.append(statement.split("(")[0])

    async with services.reading() as session:
        first, second = (await active_people(session))[:2]
    people = [  # two people, each on the console and one platform with an outbox
        replace(first, locale="en", identities=(Reach("console", "a"), Reach("telegram", "11"))),
        replace(second, locale="zh-CN", identities=(Reach("console", "b"), Reach("slack", "U2"))),
    ]
    ids = [first.id, second.id]
    async with services.reading() as session:
        before = await session.scalar(select(func.max(ChatMessage.id)))
        sent_before = await session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    event.listen(services.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with services.unit_of_work(SYSTEM) as ctx:
            tell(ctx, people, "{order_no} was confirmed.", order_no=number)
            tell(ctx, people, "", card=card)
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", count)

    assert inserts == ["INSERT INTO chat_message ", "INSERT INTO outbox_message "]
    async with services.reading() as session:
        told = (
            await session.scalars(select(ChatMessage).where(ChatMessage.user_id.in_(ids), ChatMessage.id > before))
        ).all()
        sent = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.id > sent_before).order_by(OutboxMessage.id)
            )
        ).all()
    assert sorted((m.user_id, m.platform, m.text or "", m.card_id, m.direction) for m in told) == [
        (first.id, "console", "", card.id, Direction.OUT),
        (first.id, "console", f"{number} was confirmed.", None, Direction.OUT),
        (first.id, "telegram", "", card.id, Direction.OUT),
        (first.id, "telegram", f"{number} was confirmed.", None, Direction.OUT),
        (second.id, "console", "", card.id, Direction.OUT),
        (second.id, "console", f"{number} 已确认。", None, Direction.OUT),
        (second.id, "slack", "", card.id, Direction.OUT),
        (second.id, "slack", f"{number} 已确认。", None, Direction.OUT),
    ]
    assert [(m.platform, m.recipient, m.kind, m.status, m.card_id) for m in sent] == [
        ("telegram", "11", "send", "pending", None),
        ("slack", "U2", "send", "pending", None),
        ("telegram", "11", "send", "pending", card.id),
        ("slack", "U2", "send", "pending", card.id),
    ]
    assert all(m.dedupe_key and m.attempts == 0 and m.next_attempt_at for m in sent)
    assert sent[2].payload["card"]["title"] == f"Approval needed: {number}"
    await services.close()
