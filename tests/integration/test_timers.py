"""Durable timers: reminders and escalations on an injected clock, across a restart, and exactly
once with two processes on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.events.dispatcher import deliver_pending
from bot.models import ChatMessage
from bot.scheduler import tick
from core.audit.models import AuditRecord
from core.audit.record import audit
from core.config import Settings
from core.context import Context
from core.orders import confirmation
from core.timers.models import Timer, TimerStatus
from core.timers.service import cancel_keys, run_due, schedule
from tests.support.clock import Clock
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import SYSTEM, seed
from tests.support.service_calls import as_user, place
from tests.support.workflow_rules import SPEC_RULES, rules

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


async def said_to(services, name: str) -> list[str]:
    from core.users.models import User

    async with services.sessions() as session:
        rows = await session.scalars(
            select(ChatMessage.text)
            .join(User, User.id == ChatMessage.user_id)
            .where(User.name == name, ChatMessage.text.is_not(None))
            .order_by(ChatMessage.id)
        )
        return list(rows)


async def pending_review(services, clock: Clock) -> str:
    services.clock = clock
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)  # large orders: finance approves, nudge at 4h, manager at 8h
    no = await place(services, customer="C002", items={"TEA-001": 40})
    await deliver_pending(services)  # the card goes out and its clocks start
    return no


async def test_a_stalled_review_is_nudged_then_escalated_on_time(services):
    clock = Clock(T0)
    no = await pending_review(services, clock)
    clock.advance(hours=3, minutes=59)
    assert await tick(services) == 0
    clock.advance(minutes=2)
    assert await tick(services) == 1
    assert f"Reminder: {no} still waits for your approval." in await said_to(services, "王芳")
    assert not [t for t in await said_to(services, "经理") if no in t]
    clock.advance(hours=4)
    assert await tick(services) == 1
    assert [t for t in await said_to(services, "经理") if t.startswith(f"Escalated to you: {no}")]
    assert await tick(services) == 0  # each fires once


async def test_no_nudge_once_approved(services):
    clock = Clock(T0)
    no = await pending_review(services, clock)
    clock.advance(hours=1)
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    await deliver_pending(services)
    clock.advance(hours=9)
    assert await tick(services) == 0
    assert not [t for t in await said_to(services, "王芳") if t.startswith("Reminder")]
    async with services.sessions() as session:
        statuses = set(await session.scalars(select(Timer.status)))
    assert statuses == {TimerStatus.CANCELLED}


async def test_timers_due_during_a_restart_fire_at_once(tmp_path):
    clock = Clock(T0)
    first = await make_services(sqlite_settings(tmp_path / "restart.db"))
    no = await pending_review(first, clock)
    await first.close()  # the server stops; nine hours pass
    clock.advance(hours=9)
    again = await make_services(sqlite_settings(tmp_path / "restart.db"))
    again.clock = clock
    try:
        assert await tick(again) == 2  # both the nudge and the escalation, nothing skipped
        assert f"Reminder: {no} still waits for your approval." in await said_to(again, "王芳")
    finally:
        await again.close()


async def count(ctx: Context, payload: dict[str, Any]) -> None:
    audit(ctx, entity="timer-test", key=str(payload["n"]), action="fired")


async def fired_counts(services) -> tuple[int, int]:
    async with services.sessions() as session:
        total = await session.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.entity == "timer-test"))
        distinct = await session.scalar(
            select(func.count(func.distinct(AuditRecord.entity_key))).where(AuditRecord.entity == "timer-test")
        )
    return total, distinct


async def add_due(services, n: int) -> None:
    async with services.unit_of_work(SYSTEM) as ctx:
        for i in range(n):
            await schedule(ctx, "test.count", f"test:{i}", ctx.now() - timedelta(seconds=1), n=i)


async def test_concurrent_ticks_fire_each_timer_once_on_sqlite(services):
    await add_due(services, 120)
    results = await asyncio.gather(*(run_due(services, {"test.count": count}, limit=25) for _ in range(4)))
    assert sum(results) == 120
    assert await fired_counts(services) == (120, 120)


async def test_scheduling_the_same_key_twice_is_a_no_op(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await schedule(ctx, "test.count", "same", ctx.now(), n=1)
        assert not await schedule(ctx, "test.count", "same", ctx.now(), n=2)


async def test_cancelling_by_keys_takes_those_keys_and_no_other(services):
    keys = ["approval.remind:SO-1:7", "approval.escalate:SO-1:7", "approval.remind:SO-1:70", "approval_remind:SO-1:7"]
    async with services.unit_of_work(SYSTEM) as ctx:
        for key in keys:
            await schedule(ctx, "test.count", key, ctx.now() + timedelta(hours=1), n=1)
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await cancel_keys(ctx, "approval.remind:SO-1:7", "approval.escalate:SO-1:7") == 2
        assert await cancel_keys(ctx, "approval.escalate:SO-1:7") == 0  # cancelled already
    async with services.sessions() as session:
        status = dict((await session.execute(select(Timer.key, Timer.status))).all())
    assert status == {
        "approval.remind:SO-1:7": TimerStatus.CANCELLED,
        "approval.escalate:SO-1:7": TimerStatus.CANCELLED,
        "approval.remind:SO-1:70": TimerStatus.PENDING,  # card 70's: a prefix would have taken it
        "approval_remind:SO-1:7": TimerStatus.PENDING,
    }


async def test_a_failing_timer_is_retried_later_not_lost(services):
    calls = []

    async def flaky(ctx: Context, payload: dict[str, Any]) -> None:
        calls.append(payload["n"])
        if len(calls) == 1:
            raise RuntimeError("platform down")

    await add_due(services, 1)
    assert await run_due(services, {"test.count": flaky}) == 0
    async with services.sessions() as session:
        timer = (await session.scalars(select(Timer))).one()
    assert timer.status == TimerStatus.PENDING and "platform down" in timer.last_error
    services.clock = lambda: datetime.now(UTC) + timedelta(minutes=5)
    assert await run_due(services, {"test.count": flaky}) == 1


def _worker(url: str, start: Any, out: Any) -> None:
    async def work() -> int:
        services = await make_services_no_create(url)
        try:
            start.wait(30)
            return await run_due(services, {"test.count": count}, limit=20)
        finally:
            await services.close()

    try:
        out.put(asyncio.run(work()))
    except Exception as error:  # surface it to the test
        out.put(repr(error))


async def make_services_no_create(url: str):
    from core.services import Services

    return Services.from_settings(Settings(database_url=url))


@pytest.mark.pg
async def test_two_processes_fire_500_due_timers_exactly_once_on_postgres(pg_url):
    services = await make_services(Settings(database_url=pg_url))
    try:
        await add_due(services, 500)
        context = multiprocessing.get_context("spawn")
        start, out = context.Event(), context.Queue()
        workers = [context.Process(target=_worker, args=(pg_url, start, out)) for _ in range(2)]
        for worker in workers:
            worker.start()
        start.set()
        results = [out.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(30)
        assert all(isinstance(r, int) for r in results), results
        assert sum(results) == 500
        assert await fired_counts(services) == (500, 500)
        async with services.sessions() as session:
            assert set(await session.scalars(select(Timer.status))) == {TimerStatus.DONE}
    finally:
        await services.close()


async def test_the_daily_digest_goes_out_once_a_day_at_the_configured_time(services):
    from bot.scheduler import tick
    from bot.workflows import digest

    clock = Clock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # 17:00 in Shanghai; digest at 18:00
    services.clock = clock
    await seed(services, stock={("TEA-001", "SH"): 100})
    await place(services, customer="C001", items={"TEA-001": 2})
    await digest.ensure_scheduled(services)
    await digest.ensure_scheduled(services)  # a second process (or restart) adds nothing
    assert await tick(services) == 0
    clock.advance(hours=1, minutes=1)
    assert await tick(services) == 1
    texts = await said_to(services, "经理")
    assert len([t for t in texts if t.startswith("Daily digest")]) == 1
    assert "Today: 1 orders, sales 256.00" in texts[-1]
    assert await tick(services) == 0
    clock.advance(days=1)
    assert await tick(services) == 1  # and the next day's
    assert not [t for t in await said_to(services, "李雷") if t.startswith("Daily digest")]


async def test_an_unpaid_credit_invoice_raises_payment_overdue_once(services):
    from bot.scheduler import tick
    from core.orders import payments

    clock = Clock(T0)
    services.clock = clock
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(
        services,
        """
- name: chase-overdue
  on: payment.overdue
  notify: {role: manager, message: please chase this invoice}
""",
    )
    late = await place(services, customer="C001", items={"TEA-001": 2}, payment_terms="credit")
    paid = await place(services, customer="C001", items={"TEA-001": 1}, payment_terms="credit")
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, paid))
    clock.advance(days=29)
    await tick(services)
    await deliver_pending(services)
    assert not [t for t in await said_to(services, "王芳") if t.startswith("Payment overdue")]
    clock.advance(days=2)
    assert await tick(services) == 2  # both checks fire; only the unpaid one says anything
    await deliver_pending(services)  # what the server's event dispatcher does next
    overdue = [t for t in await said_to(services, "王芳") if t.startswith("Payment overdue")]
    assert overdue == [f"Payment overdue: {late} (256.00, due 2026-12-25)."]
    assert f"chase-overdue: please chase this invoice ({late})" in await said_to(services, "经理")
