"""Bounds on one order (lines, quantity per line, text per field), refused in the core for every caller."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from bot.models import ChatMessage
from core.audit.models import AuditRecord
from core.db.base import MAX_INTEGER
from core.errors import QuantityTooLarge, TextTooLong, TooManyLines
from core.orders import confirmation
from core.orders.backorders import receive
from core.orders.models import Order, OrderLine
from core.orders.placement import DraftLine, OrderEdit, edit_order
from core.pricing.errors import DiscountOutOfRange
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import seed
from tests.support.service_calls import as_user, audit_count, detail, place, stock


async def counts(services) -> tuple[int, int, int]:
    async with services.sessions() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        lines = await session.scalar(select(func.count()).select_from(OrderLine))
    return orders, lines, await audit_count(services)


async def test_an_order_at_the_line_limit_is_placed_and_one_line_more_is_refused(services):
    await seed(services)
    at_limit = {f"TEA-{i:03d}": 1 for i in range(200)}  # unknown SKUs: held, but stored
    no = await place(services, items=at_limit)
    assert len((await detail(services, no))["lines"]) == 200
    before = await counts(services)

    with pytest.raises(TooManyLines) as refused:
        await place(services, items={**at_limit, "CUP-01": 1})

    assert refused.value.code == "too_many_lines"
    assert refused.value.params == {"count": 201, "limit": 200}
    assert refused.value.message == "An order can have at most 200 lines; this one has 201."
    assert await counts(services) == before


@pytest.mark.parametrize("qty", [1_000_001, 10**23])
async def test_a_quantity_above_the_limit_is_refused_and_nothing_is_stored(services, qty):
    await seed(services)
    before = await counts(services)

    with pytest.raises(QuantityTooLarge) as refused:
        await place(services, items={"CUP-01": 1, "tea-001": qty})

    assert refused.value.params == {"sku": "TEA-001", "limit": 1_000_000}
    assert refused.value.message == "TEA-001: a quantity can be at most 1,000,000."
    assert await counts(services) == before


async def test_the_largest_quantity_allowed_is_an_order_like_any_other(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 1_000_000})
    assert (await detail(services, no))["lines"][0]["qty"] == 1_000_000


async def test_an_edit_is_held_to_the_same_bounds_and_leaves_the_order_as_it_was(services):
    await seed(services)
    no = await place(services, customer="C002", items={"TEA-001": 45})  # waits for approval
    order = await detail(services, no)

    with pytest.raises(TooManyLines):
        lines = tuple(DraftLine("TEA-001", 1) for _ in range(201))
        await as_user(services, "李雷", lambda ctx: edit_order(ctx, no, OrderEdit(lines=lines)))
    with pytest.raises(QuantityTooLarge):
        huge = (DraftLine("TEA-001", 10**23),)
        await as_user(services, "李雷", lambda ctx: edit_order(ctx, no, OrderEdit(lines=huge)))

    assert await detail(services, no) == order


async def test_the_bounds_are_settings(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "small.db", max_order_lines=2, max_line_qty=10))
    try:
        await seed(services)
        with pytest.raises(TooManyLines, match="at most 2 lines; this one has 3"):
            await place(services, items={"TEA-001": 1, "CUP-01": 1, "GIFT-01": 1})
        with pytest.raises(QuantityTooLarge, match="at most 10"):
            await place(services, items={"TEA-001": 11})
        assert await place(services, items={"TEA-001": 10, "CUP-01": 1})
    finally:
        await services.close()


async def test_a_stock_movement_is_held_to_the_quantity_bound(services):
    await seed(services)
    with pytest.raises(QuantityTooLarge, match="TEA-001: a quantity can be at most 1,000,000"):
        await as_user(services, "张仓", lambda ctx: receive(ctx, "TEA-001", "SH", 10**23, "hostile"))
    assert await stock(services, "TEA-001", "SH") == (100, 0)


@pytest.mark.parametrize("discount", ["NaN", "sNaN", "Infinity"])
async def test_a_discount_that_is_not_a_number_is_refused(services, discount):
    await seed(services)
    with pytest.raises(DiscountOutOfRange, match="The discount must be a percentage from 0 to 100"):
        await place(services, items={"TEA-001": 1}, discount_percent=Decimal(discount))


@pytest.mark.pg
async def test_on_postgres_a_huge_quantity_is_refused_by_the_bound_not_the_driver(pg_services):
    await seed(pg_services)
    with pytest.raises(QuantityTooLarge):
        await place(pg_services, items={"TEA-001": 10**23})
    assert (await counts(pg_services))[0] == 0


@pytest.mark.pg
async def test_on_postgres_the_largest_cursor_the_edge_accepts_is_one_the_id_columns_take(pg_services):
    """Why cursors stop at 2**31-1: ids are INTEGER, and PostgreSQL refuses a larger parameter."""
    async with pg_services.sessions() as session:
        assert list(await session.scalars(select(ChatMessage).where(ChatMessage.id > MAX_INTEGER))) == []
    async with pg_services.sessions() as session:
        with pytest.raises((DBAPIError, OverflowError)):
            await session.scalars(select(ChatMessage).where(ChatMessage.id > MAX_INTEGER + 1))


@pytest.mark.parametrize(
    ("draft", "field", "limit"),
    [
        ({"items": {"A" * 65: 1}}, "sku", 64),
        ({"note": "n" * 1001}, "note", 1000),
        ({"coupon": "C" * 65}, "coupon_code", 64),
    ],
)
async def test_free_text_longer_than_its_column_is_refused_by_name(services, draft, field, limit):
    await seed(services)
    before = await counts(services)

    with pytest.raises(TextTooLong) as refused:
        await place(services, **{"items": {"TEA-001": 1}, **draft})

    assert refused.value.params == {"field": field, "limit": limit}
    assert await counts(services) == before


async def test_a_reason_too_long_for_the_audit_is_kept_as_a_summary(services):
    await seed(services)
    no = await place(services, customer="C002", items={"TEA-001": 45})

    await as_user(services, "王芳", lambda ctx: confirmation.reject(ctx, no, "r" * 1500))

    async with services.sessions() as session:
        reason = await session.scalar(
            select(AuditRecord.reason).where(AuditRecord.action == "reject").order_by(AuditRecord.id.desc())
        )
    assert len(reason) == 1000 and reason.endswith("…")


@pytest.mark.pg
async def test_on_postgres_a_200_line_order_of_unknown_skus_is_held_not_an_error(pg_services):
    """Its hold reason (one per line) is longer than the audit column: a database error before."""
    await seed(pg_services)
    no = await place(pg_services, items={f"ZZ-{i:03d}": 1 for i in range(200)})
    assert (await detail(pg_services, no))["status"] == "on_hold"


@pytest.mark.pg
async def test_on_postgres_an_over_long_note_is_refused_by_name_not_by_the_driver(pg_services):
    await seed(pg_services)
    with pytest.raises(TextTooLong, match="note can be at most 1,000 characters long"):
        await place(pg_services, note="n" * 1001)
