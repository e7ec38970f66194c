"""The same services on PostgreSQL: sequences for numbers, row locks, the lifecycle end to end."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import ConcurrencyConflict, InvalidTransition
from core.orders import cancellation, confirmation, fulfilment, payments
from core.orders.backorders import receive
from core.orders.fulfilment import ShipRequest
from tests.support.master_data import seed
from tests.support.service_calls import as_user, detail, place, stock

pytestmark = pytest.mark.pg


async def test_lifecycle_on_postgres(pg_services):
    services = pg_services
    await seed(services)
    no = await place(services, items={"TEA-001": 50})
    assert no == "SO-100001"
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "PG1")))
    order = await detail(services, no)
    assert order["status"] == "shipped"
    assert await stock(services, "TEA-001", "SH") == (50, 0)
    with pytest.raises(InvalidTransition):
        await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, no, "late"))


async def test_two_approvers_at_once_give_one_transition(pg_services):
    services = pg_services
    await seed(services)
    no = await place(services, items={"TEA-001": 50})
    version = (await detail(services, no))["version"]
    results = await asyncio.gather(
        as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no, expected_version=version)),
        as_user(services, "经理", lambda ctx: confirmation.approve(ctx, no, expected_version=version)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], (ConcurrencyConflict, InvalidTransition))
    history = [h for h in (await detail(services, no))["history"] if h["action"] == "approve"]
    assert len(history) == 1
    assert await stock(services, "TEA-001", "SH") == (100, 50)


async def test_backorder_release_and_cancel_on_postgres(pg_services):
    services = pg_services
    await seed(services, stock={("TEA-001", "SH"): 1})
    first = await place(services, items={"TEA-001": 2}, payment_terms="credit")
    assert (await detail(services, first))["status"] == "backordered"
    assert await as_user(services, "张仓", lambda ctx: receive(ctx, "TEA-001", "SH", 1)) == [first]
    assert (await detail(services, first))["status"] == "ready_to_pick"
    await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, first, "no longer needed"))
    assert await stock(services, "TEA-001", "SH") == (2, 0)


async def test_a_deadlock_victim_is_run_again(pg_services):
    """Two units of work lock two rows in opposite order; PostgreSQL aborts one, ``run`` retries it."""
    from sqlalchemy import text

    from tests.support.master_data import SYSTEM

    await seed(pg_services)
    both_hold_one = asyncio.Barrier(2)
    attempts: list[str] = []

    def crossing(first: str, second: str):
        async def action(ctx):
            attempts.append(first)
            lock = text("UPDATE warehouse SET priority = priority + 1 WHERE code = :code")
            await ctx.session.execute(lock, {"code": first})
            if attempts.count(first) == 1:
                await both_hold_one.wait()
            await ctx.session.execute(lock, {"code": second})
            return first

        return action

    done = await asyncio.gather(
        pg_services.run(SYSTEM, crossing("SH", "GZ")), pg_services.run(SYSTEM, crossing("GZ", "SH"))
    )
    assert sorted(done) == ["GZ", "SH"]
    assert len(attempts) == 3  # one of the two ran twice
