"""The config stamp: a process's copies of people, identities, rules and endpoints go stale the
moment any transaction (of this process or another) commits a change to them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update

from core.db.stamp import Copies, stamp
from core.masterdata.loader import load_master_data
from core.masterdata.schema import parse_document
from core.orders.models import Order, OrderLine
from core.users.models import User
from core.webhooks.models import WebhookEndpoint
from tests.support.databases import make_services
from tests.support.master_data import SYSTEM
from tests.support.service_calls import place

USERS = "users:\n  - {{name: ana, roles: [{role}], identities: {{console: ana}}}}\n"
SHOP = (
    "warehouses:\n  - {code: SH, name: Shanghai}\n"
    "products:\n  - {sku: TEA-001, name: Tea, price: 10}\n"
    "customers:\n  - {code: C001, name: Shop, addresses: [{province: 浙江, city: 杭州, line: 路1号}]}\n"
    "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 10}\n"
)


async def load(services, text: str) -> None:
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_master_data(ctx, parse_document(text))


async def roles_of_ana(services, copies: Copies, computed: list[int]) -> list[str]:
    async with services.reading() as session:

        async def compute() -> list[str]:
            computed.append(1)
            return list(await session.scalar(select(User.roles).where(User.name == "ana")))

        return await copies.get(session, "ana", compute)


async def test_a_copy_is_kept_until_the_rows_change_and_then_computed_again(services):
    await load(services, USERS.format(role="sales"))
    copies, computed = Copies(), []
    assert await roles_of_ana(services, copies, computed) == ["sales"]
    assert await roles_of_ana(services, copies, computed) == ["sales"]
    assert len(computed) == 1
    await load(services, USERS.format(role="approver"))  # the ORM's flush
    assert await roles_of_ana(services, copies, computed) == ["approver"]
    async with services.unit_of_work(SYSTEM) as ctx:  # a Core UPDATE through the session
        await ctx.session.execute(update(User).where(User.name == "ana").values(roles=["finance"]))
    assert await roles_of_ana(services, copies, computed) == ["finance"]
    assert len(computed) == 3


async def test_another_process_changing_the_rows_is_seen(services):
    other = await make_services(services.settings)  # its own engine and pool, as `oms load` has
    try:
        await load(services, USERS.format(role="sales"))
        copies, computed = Copies(), []
        assert await roles_of_ana(services, copies, computed) == ["sales"]
        await load(other, USERS.format(role="warehouse"))
        assert await roles_of_ana(services, copies, computed) == ["warehouse"]
    finally:
        await other.close()


async def test_a_session_that_changed_the_rows_keeps_no_copy_of_what_it_saw(services):
    await load(services, USERS.format(role="sales"))
    copies, computed = Copies(), []
    async with services.sessions() as session:
        await session.begin()
        await session.execute(update(User).where(User.name == "ana").values(roles=["admin"]))
        assert await stamp(session) is None

        async def compute() -> list[str]:
            computed.append(1)
            return list(await session.scalar(select(User.roles).where(User.name == "ana")))

        assert await copies.get(session, "ana", compute) == ["admin"]
        await session.rollback()
    assert await roles_of_ana(services, copies, computed) == ["sales"]  # not the rolled-back admin


async def test_a_write_after_a_rolled_back_savepoint_still_advances_the_stamp(services):
    await load(services, USERS.format(role="sales"))
    async with services.reading() as session:
        before = await stamp(session)
    async with services.unit_of_work(SYSTEM) as ctx:
        savepoint = await ctx.session.begin_nested()
        await ctx.session.execute(update(User).where(User.name == "ana").values(roles=["admin"]))
        await savepoint.rollback()
        await ctx.session.execute(update(User).where(User.name == "ana").values(roles=["finance"]))
    async with services.reading() as session:
        assert await stamp(session) > before


async def test_orders_do_not_advance_the_stamp(services):
    await load(services, USERS.format(role="sales") + SHOP)
    async with services.reading() as session:
        before = await stamp(session)
    await place(services, "C001", {"TEA-001": 1}, by=None)
    async with services.reading() as session:
        assert await stamp(session) == before


async def test_a_webhook_endpoints_health_is_not_configuration(services):
    """The client writes health after every attempt; that must not make every copy stale."""
    now = datetime.now(UTC)
    async with services.unit_of_work(SYSTEM) as ctx:
        ctx.session.add(WebhookEndpoint(name="erp", url="http://erp.test/h", events=["*"], secret="s", created_at=now))
    async with services.reading() as session:
        before = await stamp(session)
    async with services.unit_of_work(SYSTEM) as ctx:  # the ORM's way
        endpoint = await ctx.session.scalar(select(WebhookEndpoint))
        endpoint.last_success_at = now
    async with services.unit_of_work(SYSTEM) as ctx:  # a Core UPDATE
        await ctx.session.execute(update(WebhookEndpoint).values(last_failure_at=now, last_error="502"))
    async with services.reading() as session:
        assert await stamp(session) == before
    async with services.unit_of_work(SYSTEM) as ctx:
        endpoint = await ctx.session.scalar(select(WebhookEndpoint))
        endpoint.events, endpoint.last_success_at = ["order.shipped"], now
    async with services.reading() as session:
        assert await stamp(session) > before


async def test_copies_stay_within_their_limit(services):
    copies = Copies(limit=3)
    async with services.reading() as session:
        for key in range(10):
            assert await copies.get(session, key, _value(key)) == key
    assert len(copies._kept) <= 3


def _value(key: int):
    async def compute() -> int:
        return key

    return compute


async def unit_price(services, order_no: str):
    async with services.reading() as session:
        return await session.scalar(select(OrderLine.unit_price).join(Order).where(Order.order_no == order_no))


async def total(services, order_no: str):
    async with services.reading() as session:
        return await session.scalar(select(Order.total).where(Order.order_no == order_no))


async def test_a_price_list_or_promotion_changed_by_another_process_prices_the_next_order(services):
    # Given orders priced from the copies of the price lists and promotions
    other = await make_services(services.settings)  # `oms load` in a process of its own
    try:
        await load(services, SHOP)
        assert await unit_price(services, await place(services, "C001", {"TEA-001": 1}, by=None)) == Decimal("10.00")
        # when another process loads a price list for everyone, the next order is priced from it
        await load(other, "price_lists:\n  - {name: all, items: [{sku: TEA-001, price: '8.00'}]}\n")
        second = await place(services, "C001", {"TEA-001": 1}, by=None)
        assert await unit_price(services, second) == Decimal("8.00")
        # and a coupon it adds is honoured at once, one it switches off refused at once
        await load(other, "promotions:\n  - {code: HALF, kind: coupon, percent_off: 50}\n")
        halved = await place(services, "C001", {"TEA-001": 1}, by=None, coupon="HALF")
        assert await total(services, halved) == Decimal("4.00")
        await load(other, "promotions:\n  - {code: HALF, kind: coupon, percent_off: 50, active: false}\n")
        refused = await place(services, "C001", {"TEA-001": 1}, by=None, coupon="HALF")
        assert await total(services, refused) == Decimal("8.00")
    finally:
        await other.close()
