"""A regression guard on what one Approve tap costs the database: the statements the whole turn
runs (the transition, the delivery of the events it recorded, the timeline), with some headroom.
Before the notifier read people, rules and endpoints from copies and took the tapped order from
the turn, one tap ran 104 statements; then 54; now 25 (the delivery's handlers in its step's savepoint,
the config stamp read with the events' claim, the order locked once with its customer in its row,
its products read once, its status walk written in one flush, its open cards read once, the
notifications' rows in one INSERT, the safety stock judged from the products the allocation holds)."""

from __future__ import annotations

from sqlalchemy import event, select

from bot import gateway
from bot.actions import ActionId
from bot.conversation import Identity, who
from bot.gateway import Inbound
from bot.models import Card, CardKind, CardState, ChatMessage
from bot.reactions.orders import event_order, hold
from core.auth import Actor
from core.orders.repository import load_order
from tests.support.platforms import demo_services, order_no
from tests.support.statements import statements

MOST = 30


async def test_one_approve_tap_runs_a_bounded_number_of_statements(tmp_path):
    # Given an order waiting for approval, its card on 王芳's console timeline
    services = await demo_services(tmp_path)
    placed = await gateway.message(services, Inbound("console", "lilei", "lilei"), "/neworder C002 TEA-001*45")
    number = order_no(placed.texts[0])
    async with services.reading() as session:
        card = (await session.scalars(select(Card).where(Card.order_no == number))).one()
    assert card.kind == CardKind.APPROVAL
    speaker = await who(services, Identity("console", "wangfang"))
    # When she taps Approve
    action = ActionId("approve", card.id, card.version).encode()
    inbound = Inbound("console", "wangfang", "wangfang", speaker=speaker)
    with statements(services) as sent:
        answer = await gateway.tap(services, inbound, action, card_id=card.id)

    # Then it was one transition, delivered in the turn, within the bound
    assert answer.texts == [f"Approved {number}."]
    async with services.reading() as session:
        assert (await session.get(Card, card.id)).state == CardState.CLOSED
        told = await session.scalars(select(ChatMessage.text).where(ChatMessage.text.contains(number)))
        assert f"{number} was confirmed." in list(told)  # 李雷 heard it, in the same turn
    assert len(sent) <= MOST, "\n".join(sent)
    assert not [sql for sql in sent if sql.startswith("SELECT counter")]  # the stamp came with the events' claim
    assert len([sql for sql in sent if sql.startswith("SAVEPOINT")]) == 2  # the tap's step, the delivery's
    assert len([sql for sql in sent if "FROM approval_step" in sql]) == 1  # the card's check, then the approval
    await services.close()


async def test_an_event_names_the_held_order_while_it_is_loaded_and_it_is_loaded_again_once_expired(tmp_path):
    services = await demo_services(tmp_path)
    placed = await gateway.message(services, Inbound("console", "lilei", "lilei"), "/neworder C001 TEA-001*2")
    number = order_no(placed.texts[0])
    read: list[str] = []
    async with services.unit_of_work(Actor.system("test")) as ctx:
        order = await load_order(ctx, number)
        hold(ctx, order)
        event.listen(services.engine.sync_engine, "before_cursor_execute", lambda *a: read.append(a[2]))
        assert await event_order(ctx, number) is order
        assert read == []  # the turn's own copy: nothing read again
        ctx.session.expire(order)  # as a rolled-back savepoint leaves what it changed
        again = await event_order(ctx, number)
        assert again is order and [line.sku for line in again.lines] == ["TEA-001"] and read
        assert await event_order(ctx, "SO-00000000-0000") is None
    await services.close()
