"""What a change reads once and takes from the session after: the order it locked (a tap locks it to
see whether someone acted first, then approves it) and the products an allocation asks about."""

from __future__ import annotations

from sqlalchemy import select

from core.catalog.models import Product
from core.inventory.demand import hold_products, kit_recipes, skus_by_id
from core.orders.repository import load_order
from core.production.planning import make_to_order_products
from tests.support.master_data import SYSTEM, seed
from tests.support.service_calls import place
from tests.support.statements import statements


async def test_an_order_locked_in_this_savepoint_or_around_it_is_not_read_again(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    no = await place(services, items={"TEA-001": 2})
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await load_order(ctx, no, for_update=True)
        with statements(services) as seen:
            assert await load_order(ctx, no, for_update=True) is order
            async with ctx.session.begin_nested():  # inside the locking transaction: still locked
                assert await load_order(ctx, no.lower(), for_update=True) is order
        assert not [s for s in seen if s.startswith("SELECT")]
        assert [line.sku for line in order.lines] == ["TEA-001"] and order.customer.code == "C001"


async def test_an_order_is_read_again_once_the_savepoint_that_locked_it_is_rolled_back_or_it_expired(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    no = await place(services, items={"TEA-001": 2})
    async with services.unit_of_work(SYSTEM) as ctx:
        savepoint = await ctx.session.begin_nested()
        await load_order(ctx, no, for_update=True)
        await savepoint.rollback()  # PostgreSQL released the lock taken in it
        with statements(services) as seen:
            again = await load_order(ctx, no, for_update=True)
        assert any(s.startswith("SELECT sales_order") for s in seen)
        ctx.session.expire(again.customer)  # as a rolled-back change leaves what it touched
        with statements(services) as seen:
            assert (await load_order(ctx, no, for_update=True)).customer.code == "C001"
        assert any(s.startswith("SELECT sales_order") for s in seen)
        with statements(services) as seen:
            await load_order(ctx, no)  # a plain read is a read
        assert seen
    async with services.unit_of_work(SYSTEM) as ctx:  # another transaction locks for itself
        with statements(services) as seen:
            await load_order(ctx, no, for_update=True)
        assert any(s.startswith("SELECT sales_order") for s in seen)


async def test_held_products_answer_the_allocations_questions_without_a_statement(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    async with services.unit_of_work(SYSTEM) as ctx:
        ids = list(await ctx.session.scalars(select(Product.id).where(Product.sku.in_(["TEA-001", "CUP-01"]))))
        with statements(services) as seen:
            await hold_products(ctx.session, ids)
        assert len(seen) == 1
        with statements(services) as seen:
            await hold_products(ctx.session, ids)  # held already: nothing read
            skus = await skus_by_id(ctx.session, ids)
            assert await kit_recipes(ctx.session, ids) == {}
        assert seen == []
        assert sorted(skus.values()) == ["CUP-01", "TEA-001"]


async def test_an_order_whose_products_are_held_asks_nothing_about_making_them(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    no = await place(services, items={"TEA-001": 2})
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await load_order(ctx, no)
        await hold_products(ctx.session, [line.product_id for line in order.lines])
        with statements(services) as seen:
            assert await make_to_order_products(ctx, order) == {}
        assert seen == []
