"""Validation on entry: fixable problems hold the order with typed reasons; nonsense is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.errors import InvalidInput, NotFound
from core.orders import placement
from core.orders.models import Order
from tests.support.master_data import seed
from tests.support.service_calls import as_user, detail, place, stock


async def test_unknown_sku_holds_with_a_suggestion_and_a_fix_revalidates(services):
    await seed(services)
    no = await place(services, items={"TEA-01": 2})
    order = await detail(services, no)
    assert order["status"] == "on_hold"
    assert order["hold_reasons"] == [
        {
            "code": "data",
            "field": "lines[1].sku",
            "message": "Unknown SKU TEA-01. Did you mean TEA-001?",
            "params": {"sku": "TEA-01", "suggestion": "TEA-001"},
        }
    ]
    await as_user(services, "李雷", lambda ctx: placement.fix_line_sku(ctx, no, "TEA-01", "TEA-001"))
    fixed = await detail(services, no)
    assert fixed["status"] == "awaiting_payment"
    assert fixed["hold_reasons"] == []
    assert fixed["total"] == "256.00"
    assert [h["action"] for h in fixed["history"]][-5:] == [
        "edit_line",
        "revalidate",
        "confirm",
        "allocate",
        "await_payment",
    ]


async def test_bad_phone_holds_for_address(services):
    await seed(services)
    no = await place(services, ship_to={"city": "杭州", "line": "西湖区龙井路1号", "phone": "12345"})
    order = await detail(services, no)
    assert order["status"] == "on_hold"
    assert [r["code"] for r in order["hold_reasons"]] == ["address"]
    assert "12345" in order["hold_reasons"][0]["message"]


async def test_missing_street_holds_for_address(services):
    await seed(services)
    no = await place(services, ship_to={"city": "杭州", "phone": "13800138000"})
    assert [r["field"] for r in (await detail(services, no))["hold_reasons"]] == ["ship_to.line"]


async def test_credit_limit_holds_and_nothing_is_reserved(services):
    await seed(services, credit_limit="200")
    no = await place(services, payment_terms="credit")  # 256.00 > 200 credit
    order = await detail(services, no)
    assert order["status"] == "on_hold"
    assert order["hold_reasons"][0]["code"] == "credit"
    assert await stock(services, "TEA-001", "SH") == (100, 0)


async def test_credit_is_checked_against_what_is_already_owed(services):
    await seed(services, credit_limit="600")
    first = await place(services, payment_terms="credit")  # 256 owed
    second = await place(services, payment_terms="credit")  # 512 owed
    third = await place(services, payment_terms="credit")  # would be 768 > 600
    statuses = [(await detail(services, no))["status"] for no in (first, second, third)]
    assert statuses == ["ready_to_pick", "ready_to_pick", "on_hold"]


async def test_discount_beyond_the_limit_holds_for_price(services):
    await seed(services)
    no = await place(services, discount_percent=Decimal("20"))
    order = await detail(services, no)
    assert order["status"] == "on_hold"
    assert order["hold_reasons"][0]["code"] == "price"
    assert order["price_breakdown"]["discount_percent"] == "20.00"


async def test_unknown_coupon_holds_for_price_and_keeps_the_undiscounted_total(services):
    await seed(services)
    no = await place(services, coupon="NOPE")
    order = await detail(services, no)
    assert order["status"] == "on_hold"
    assert order["hold_reasons"][0]["code"] == "price"
    assert order["total"] == "256.00"


async def test_several_problems_are_reported_at_once(services):
    await seed(services)
    no = await place(services, items={"TEA-01": 1}, ship_to={"city": "", "line": "x", "phone": "1"})
    codes = sorted({r["code"] for r in (await detail(services, no))["hold_reasons"]})
    assert codes == ["address", "data"]


async def order_count(services) -> int:
    return await as_user(services, None, lambda ctx: ctx.session.scalar(select(func.count(Order.id))))


async def test_an_order_without_lines_is_refused_and_stores_nothing(services):
    await seed(services)
    with pytest.raises(InvalidInput, match="no lines"):
        await as_user(services, "李雷", lambda ctx: placement.place_order(ctx, placement.OrderDraft("C001", ())))
    assert await order_count(services) == 0


async def test_a_zero_quantity_is_refused_and_stores_nothing(services):
    await seed(services)
    with pytest.raises(InvalidInput, match="at least 1"):
        await place(services, items={"TEA-001": 0})
    assert await order_count(services) == 0


async def test_unknown_customer_is_refused(services):
    await seed(services)
    with pytest.raises(NotFound, match="Customer C999"):
        await place(services, customer="C999")


async def test_same_channel_order_id_is_placed_once(services):
    await seed(services)
    first = await place(services, channel="shopify", external_ref="1001")
    again = await place(services, channel="shopify", external_ref="1001")
    assert first == again
    assert await stock(services, "TEA-001", "SH") == (100, 2)
