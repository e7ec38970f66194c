"""The customer's credit balance: charged only within the limit, credited back in full."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from core.context import Context
from core.customers import balance
from core.customers.models import Customer
from tests.support.master_data import SYSTEM, seed


async def owed(services, code: str = "C001") -> Decimal:
    async with services.unit_of_work(SYSTEM) as ctx:
        return (await ctx.session.scalars(select(Customer.outstanding_balance).where(Customer.code == code))).one()


async def customer_id(ctx: Context, code: str = "C001") -> int:
    return (await ctx.session.scalars(select(Customer.id).where(Customer.code == code))).one()


async def test_a_charge_within_the_limit_applies_and_one_past_it_changes_nothing(services):
    await seed(services, credit_limit="300")
    async with services.unit_of_work(SYSTEM) as ctx:
        cid = await customer_id(ctx)
        assert await balance.charge(ctx, cid, Decimal("256.00"), within_limit=True)
        assert not await balance.charge(ctx, cid, Decimal("50.00"), within_limit=True)
    assert await owed(services) == Decimal("256.00")


async def test_a_charge_without_the_limit_may_run_past_it(services):
    await seed(services, credit_limit="100")
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await balance.charge(ctx, await customer_id(ctx), Decimal("150.00"), within_limit=False)
    assert await owed(services) == Decimal("150.00")


async def test_credit_lowers_what_is_owed(services):
    await seed(services, credit_limit="300")
    async with services.unit_of_work(SYSTEM) as ctx:
        cid = await customer_id(ctx)
        await balance.charge(ctx, cid, Decimal("200.00"), within_limit=True)
        await balance.credit(ctx, cid, Decimal("75.50"))
    assert await owed(services) == Decimal("124.50")


async def test_charges_racing_for_the_same_credit_never_run_past_the_limit(services):
    await ten_charges_race_for_three(services)


async def test_charges_racing_for_the_same_credit_never_run_past_the_limit_on_postgresql(pg_services):
    await ten_charges_race_for_three(pg_services)


async def ten_charges_race_for_three(services) -> None:
    # Given a limit that fits three charges of 100, when ten charge at once in their own transactions
    await seed(services, credit_limit="300")

    async def one() -> bool:
        async with services.unit_of_work(SYSTEM) as ctx:
            return await balance.charge(ctx, await customer_id(ctx), Decimal("100.00"), within_limit=True)

    applied = await asyncio.gather(*(one() for _ in range(10)))
    # then exactly three applied and the balance is exactly the limit
    assert applied.count(True) == 3
    assert await owed(services) == Decimal("300.00")
