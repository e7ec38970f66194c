"""A chat request is one turn: the change a command makes and the reply reporting it commit in one
transaction, or neither does (``core.turn``, ``bot.gateway``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from bot import gateway
from bot.gateway import Inbound
from bot.models import ChatMessage, Direction
from bot.outbox.models import OutboxMessage
from core.audit.models import AuditRecord, DomainEvent
from core.auth import Actor, Permission
from core.errors import InvalidInput
from core.inventory.models import StockLevel
from core.orders.models import Order
from core.services import Services
from tests.support.platforms import bind, demo_services

SYSTEM = Actor.system("test")


@pytest.fixture
async def demo(tmp_path) -> AsyncIterator[Services]:
    services = await demo_services(tmp_path)
    await bind(services, "slack", {"李雷": "U1", "杭州茶社": "U9"})
    yield services
    await services.close()


async def count(services: Services, model) -> int:
    async with services.reading() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def timeline(services: Services, platform: str) -> list[tuple[str, str | None]]:
    async with services.reading() as session:
        rows = await session.execute(
            select(ChatMessage.direction, ChatMessage.text)
            .where(ChatMessage.platform == platform)
            .order_by(ChatMessage.id)
        )
        return [(str(d), t) for d, t in rows]


async def outbox_texts(services: Services, chat: str = "C1") -> list[str | None]:
    """What was queued to the chat spoken in (notifications go to the person's direct chat)."""
    async with services.reading() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [m.payload.get("text") for m in rows if m.platform == "slack" and m.recipient == chat]


def crash_once(monkeypatch, name: str) -> list[int]:
    """``gateway.<name>`` raises the first time it is called (the process dying at that point of
    the request), then works again (for the apology)."""
    real, calls = getattr(gateway, name), []

    def crashing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk I/O error")
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway, name, crashing)
    return calls


async def test_a_crash_between_the_order_and_its_reply_leaves_neither(demo, monkeypatch):
    calls = crash_once(monkeypatch, "exchange")  # the order is placed; writing its reply fails
    events = await count(demo, DomainEvent)  # loading the demo data recorded some

    answer = await gateway.message(demo, Inbound("slack", "U1", "C1", "e1"), "/neworder C001 TEA-001*2")

    assert calls, "the crash was never reached"
    assert "something went wrong" in answer.texts[0] and "reference" in answer.texts[0]
    assert await count(demo, Order) == 0
    assert await count(demo, DomainEvent) == events  # nothing to tell anyone about either
    assert await timeline(demo, "slack") == [("in", "/neworder C001 TEA-001*2"), ("out", answer.texts[0])]
    assert await outbox_texts(demo) == answer.texts  # the apology, and no reply about an order


async def test_a_failure_after_the_replies_are_written_undoes_the_order_too(demo, monkeypatch):
    crash_once(monkeypatch, "_queue")  # the last write of the turn: the outbox replies

    answer = await gateway.message(demo, Inbound("slack", "U1", "C1", "e1"), "/neworder C001 TEA-001*2")

    assert "something went wrong" in answer.texts[0]
    assert await count(demo, Order) == 0
    assert [text for _, text in await timeline(demo, "slack")] == ["/neworder C001 TEA-001*2", answer.texts[0]]


async def test_an_order_its_timeline_and_its_queued_reply_commit_in_one_transaction(demo):
    committed: list[set[str]] = []
    pending: set[str] = set()

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO"):
            pending.add(statement.split()[2].strip('"'))

    def on_commit(conn):
        committed.append(set(pending))
        pending.clear()

    def on_rollback(conn):
        pending.clear()

    engine = demo.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        answer = await gateway.message(demo, Inbound("slack", "U1", "C1", "e1"), "/neworder C001 TEA-001*2")
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)

    assert "SO-" in answer.texts[0] and answer.reply_ids
    [turn] = [tables for tables in committed if "sales_order" in tables]
    assert {"sales_order", "order_line", "domain_event", "chat_message", "outbox_message"} <= turn
    assert await outbox_texts(demo) == answer.texts
    rows = await timeline(demo, "slack")
    said = rows.index(("in", "/neworder C001 TEA-001*2"))  # after the confirmation it caused
    assert rows[said + 1 :] == [("out", t) for t in answer.texts]


async def test_a_refusal_inside_the_turn_is_answered_audited_and_kept(demo):
    answer = await gateway.message(demo, Inbound("slack", "U9", "U9", "e1"), "/neworder C002 TEA-001*1")

    assert answer.texts == ["You can only order for your own account (C001)."]
    assert await count(demo, Order) == 0
    assert await timeline(demo, "slack") == [("in", "/neworder C002 TEA-001*1"), ("out", answer.texts[0])]
    async with demo.reading() as session:
        [denied] = list(await session.scalars(select(AuditRecord).where(AuditRecord.entity == "access")))
    assert denied.action == "denied" and denied.data["permission"] == Permission.ORDER_CREATE.value


async def test_the_console_goes_through_the_gateway_with_nothing_queued_and_a_replay_shows_the_same_rows(demo):
    said = Inbound("console", "lilei", "lilei", event_id="m-1", replay=True)

    first = await gateway.message(demo, said, "/neworder C001 TEA-001*2")
    again = await gateway.message(demo, said, "/neworder C001 TEA-001*2")

    assert not first.duplicate and first.reply_ids and again.duplicate
    assert again.reply_ids == first.reply_ids
    assert await count(demo, Order) == 1
    async with demo.reading() as session:
        console_sends = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.platform == "console")
        )
        replies = list(await session.scalars(select(ChatMessage).where(ChatMessage.id.in_(first.reply_ids))))
    assert console_sends == 0
    assert [r.text for r in replies] == first.texts and {r.direction for r in replies} == {Direction.OUT}


async def receive(ctx, qty: int = 5) -> None:
    level = await ctx.session.scalar(select(StockLevel).where(StockLevel.warehouse_id.is_not(None)).limit(1))
    level.on_hand += qty


async def on_hand(ctx) -> int:
    return await ctx.session.scalar(select(func.sum(StockLevel.on_hand)))


async def _steps_of_a_turn(services: Services) -> None:
    async with services.reading() as session:
        before = await session.scalar(select(func.sum(StockLevel.on_hand)))

    async def refused(ctx) -> None:
        await receive(ctx, 1000)
        raise InvalidInput()

    async with services.turn(SYSTEM):
        await services.run(SYSTEM, receive)
        with pytest.raises(InvalidInput):
            await services.run(SYSTEM, refused)  # undone alone: its savepoint is rolled back
        assert await services.query(SYSTEM, on_hand) == before + 5  # the turn's own write, not yet committed
        with pytest.raises(RuntimeError):
            async with services.unit_of_work(SYSTEM):
                pass
        async with services.reading() as session:  # others do not see it before the commit
            assert await session.scalar(select(func.sum(StockLevel.on_hand))) == before
    async with services.reading() as session:
        assert await session.scalar(select(func.sum(StockLevel.on_hand))) == before + 5


async def test_a_turns_steps_are_savepoints_and_its_reads_see_its_writes(demo):
    await _steps_of_a_turn(demo)


@pytest.mark.pg
async def test_on_postgres_a_turns_steps_are_savepoints_and_its_reads_see_its_writes(pg_services):
    from core.masterdata.loader import load_file
    from integrations.cli.demo import DEMO_DATA

    async with pg_services.unit_of_work(SYSTEM) as ctx:
        await load_file(ctx, DEMO_DATA)
    await _steps_of_a_turn(pg_services)


class Deadlock(Exception):
    sqlstate = "40P01"


async def test_a_step_chosen_as_a_deadlock_victim_runs_the_whole_turn_again(demo):
    attempts: list[int] = []

    async def victim(ctx) -> None:
        if len(attempts) == 1:
            raise DBAPIError("UPDATE stock_level …", None, Deadlock("deadlock detected"))

    async def body(ctx) -> int:
        attempts.append(1)
        await demo.run(SYSTEM, receive)
        try:
            await demo.run(SYSTEM, victim)
        except DBAPIError:
            pass  # a handler turning the error into a reply: the turn must not commit that
        return len(attempts)

    async with demo.reading() as session:
        before = await session.scalar(select(func.sum(StockLevel.on_hand)))
    assert await demo.run_turn(SYSTEM, body) == 2
    async with demo.reading() as session:
        assert await session.scalar(select(func.sum(StockLevel.on_hand))) == before + 5  # once, not twice


async def test_a_race_lost_inside_a_step_is_refused_as_changed_meanwhile_and_the_turn_goes_on(demo):
    from sqlalchemy import update

    from core.errors import ChangedMeanwhile
    from tests.support.service_calls import place

    order_no = await place(demo, by="李雷")
    async with demo.reading() as session:
        version = await session.scalar(select(Order.version).where(Order.order_no == order_no))

    async def lost_race(ctx) -> None:
        order = await ctx.session.scalar(select(Order).where(Order.order_no == order_no))
        # Someone else's change lands between our read and our write (the version moves on).
        await ctx.session.execute(
            update(Order).where(Order.id == order.id).values(version=Order.version + 1),
            execution_options={"synchronize_session": False},
        )
        order.note = "ours"

    async with demo.turn(SYSTEM):
        with pytest.raises(ChangedMeanwhile):
            await demo.run(SYSTEM, lost_race)
        await demo.run(SYSTEM, receive)  # the turn is still good for the next step
    async with demo.reading() as session:
        order = await session.scalar(select(Order).where(Order.order_no == order_no))
    assert order.note != "ours" and order.version == version  # the step undone, its raw update too


@pytest.mark.pg
async def test_on_postgres_two_turns_that_deadlock_both_end_once_the_victim_ran_again(pg_services):
    import asyncio

    from sqlalchemy import update

    from core.masterdata.loader import load_file
    from integrations.cli.demo import DEMO_DATA

    async with pg_services.unit_of_work(SYSTEM) as ctx:
        await load_file(ctx, DEMO_DATA)
        first, second = list(await ctx.session.scalars(select(StockLevel.id).order_by(StockLevel.id).limit(2)))
        before = {r.id: r.on_hand for r in await ctx.session.scalars(select(StockLevel))}
    holding = {first: asyncio.Event(), second: asyncio.Event()}
    runs = {first: 0, second: 0}

    def bump(level_id: int):
        async def step(ctx) -> None:
            await ctx.session.execute(
                update(StockLevel).where(StockLevel.id == level_id).values(on_hand=StockLevel.on_hand + 1)
            )

        return step

    def crossing(mine: int, theirs: int):
        async def body(ctx) -> None:
            runs[mine] += 1
            await pg_services.run(SYSTEM, bump(mine))
            holding[mine].set()
            await asyncio.wait_for(holding[theirs].wait(), 10)  # each now holds the row the other wants
            await pg_services.run(SYSTEM, bump(theirs))

        return body

    await asyncio.gather(
        pg_services.run_turn(SYSTEM, crossing(first, second)),
        pg_services.run_turn(SYSTEM, crossing(second, first)),
    )

    assert sorted(runs.values()) == [1, 2]  # PostgreSQL chose one victim, whose whole turn ran again
    async with pg_services.reading() as session:
        after = {r.id: r.on_hand for r in await session.scalars(select(StockLevel))}
    assert after[first] == before[first] + 2 and after[second] == before[second] + 2  # each turn once


async def test_a_console_retry_after_a_failed_turn_is_shown_the_same_apology_and_runs_nothing(demo, monkeypatch):
    crash_once(monkeypatch, "exchange")
    said = Inbound("console", "lilei", "lilei", event_id="m-1", replay=True)

    first = await gateway.message(demo, said, "/neworder C001 TEA-001*2")
    again = await gateway.message(demo, said, "/neworder C001 TEA-001*2")

    assert "something went wrong" in first.texts[0] and first.reply_ids
    assert again.duplicate and again.reply_ids == first.reply_ids
    assert await count(demo, Order) == 0
    assert await timeline(demo, "console") == [("in", "/neworder C001 TEA-001*2"), ("out", first.texts[0])]
