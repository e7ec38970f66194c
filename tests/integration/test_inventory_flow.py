"""Backorders served first-in first-out, partial allocation, safety-stock alerts, kits, stock moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import UnknownSku
from core.inventory.errors import NotEnoughOnHand
from core.inventory.models import PurchaseRequest
from core.inventory.planning import ShortagePolicy, Strategy
from core.inventory.stock import stock_view
from core.orders import backorders, cancellation
from core.orders.placement import DraftLine, OrderDraft, place_order
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import SYSTEM, seed
from tests.support.service_calls import as_user, detail, events, place, stock


async def test_shortage_backorders_and_raises_a_purchase_request(services):
    await seed(services, stock={("TEA-001", "SH"): 3})
    no = await place(services, items={"TEA-001": 5})
    order = await detail(services, no)
    assert order["status"] == "backordered"
    assert order["allocation"]["shortages"] == {"TEA-001": 2}
    assert await stock(services, "TEA-001", "SH") == (3, 0)
    requests = await as_user(services, None, lambda ctx: ctx.session.scalars(select(PurchaseRequest)))
    assert [(r.qty, r.status) for r in requests] == [(2, "open")]


async def test_receipt_serves_backorders_first_in_first_out(services):
    await seed(services, stock={("TEA-001", "SH"): 0})
    first = await place(services, items={"TEA-001": 3})
    second = await place(services, items={"TEA-001": 1})
    served = await as_user(services, "张仓", lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 2))
    # The first order needs 3: it is not served, and the second may not jump the queue
    assert served == []
    assert [(await detail(services, no))["status"] for no in (first, second)] == ["backordered", "backordered"]
    served = await as_user(services, "张仓", lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 2))
    assert served == [first, second]
    assert [(await detail(services, no))["status"] for no in (first, second)] == [
        "awaiting_payment",
        "awaiting_payment",
    ]
    assert await stock(services, "TEA-001", "SH") == (4, 4)


async def test_cancellation_frees_stock_for_a_waiting_order(services):
    await seed(services, stock={("TEA-001", "SH"): 2})
    holder = await place(services, items={"TEA-001": 2})
    waiting = await place(services, items={"TEA-001": 2})
    assert (await detail(services, waiting))["status"] == "backordered"
    await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, holder, "duplicate"))
    assert (await detail(services, waiting))["status"] == "awaiting_payment"


async def test_partial_policy_reserves_what_there_is_and_tops_up_later(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "p.db", shortage_policy=ShortagePolicy.PARTIAL))
    try:
        await seed(services, stock={("TEA-001", "SH"): 3})
        no = await place(services, items={"TEA-001": 5})
        order = await detail(services, no)
        assert order["status"] == "awaiting_payment"
        assert order["allocation"]["shortages"] == {"TEA-001": 2}
        assert await stock(services, "TEA-001", "SH") == (3, 3)
        await as_user(services, "张仓", lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 10))
        order = await detail(services, no)
        assert order["allocation"]["shortages"] == {}
        assert sum(a["qty"] for a in order["lines"][0]["allocations"]) == 5
        assert await stock(services, "TEA-001", "SH") == (13, 5)
    finally:
        await services.close()


async def test_each_short_sku_keeps_one_purchase_request_at_the_current_gap(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "p.db", shortage_policy=ShortagePolicy.PARTIAL))
    try:
        await seed(services, stock={("TEA-001", "SH"): 3, ("CUP-01", "SH"): 1})
        no = await place(services, items={"TEA-001": 5, "CUP-01": 4})
        assert (await detail(services, no))["allocation"]["shortages"] == {"TEA-001": 2, "CUP-01": 3}

        async def requests(ctx):  # noqa: ANN001, ANN202
            found = await ctx.session.scalars(select(PurchaseRequest).order_by(PurchaseRequest.id))
            return [(r.product_id, r.qty, r.status) for r in found]

        before = await as_user(services, None, requests)
        assert [(qty, status) for _, qty, status in before] == [(3, "open"), (2, "open")]  # CUP-01, then TEA-001
        await as_user(services, "张仓", lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 1))
        after = await as_user(services, None, requests)
        assert [(key, qty) for key, qty, _ in after] == [(before[0][0], 3), (before[1][0], 1)]  # same rows, less gap
    finally:
        await services.close()


async def test_nearest_warehouse_is_chosen_and_explained(services):
    await seed(services, stock={("TEA-001", "SH"): 10, ("TEA-001", "GZ"): 10})
    hangzhou = await place(services, customer="C001")
    guangzhou = await place(services, customer="C002")
    assert (await detail(services, hangzhou))["allocation"]["explanation"].startswith("from SH")
    assert (await detail(services, guangzhou))["allocation"]["explanation"].startswith("from GZ")


async def test_priority_strategy_ignores_distance(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "s.db", allocation_strategy=Strategy.PRIORITY))
    try:
        await seed(services, stock={("TEA-001", "SH"): 10, ("TEA-001", "GZ"): 10})
        no = await place(services, customer="C002")  # Guangzhou customer, but SH has priority 10
        assert (await detail(services, no))["lines"][0]["allocations"][0]["warehouse"] == "SH"
    finally:
        await services.close()


async def test_safety_stock_alerts_once_per_crossing(services):
    await seed(services, stock={("TEA-001", "SH"): 25}, safety={"TEA-001": 20})
    await place(services, items={"TEA-001": 3})  # 22 left: above
    await place(services, items={"TEA-001": 3})  # 19: crosses below → alert
    await place(services, items={"TEA-001": 1})  # 18: still below → no new alert
    assert [e["available"] for e in await events(services, "stock.low")] == [19]
    await as_user(services, "张仓", lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 10))  # 28: re-armed
    await place(services, items={"TEA-001": 9})  # 19 again: second crossing
    assert [e["available"] for e in await events(services, "stock.low")] == [19, 19]


async def test_a_crossing_right_after_a_rearm_in_the_same_transaction_alerts(services):
    # Given a product below its safety stock, alerted once
    await seed(services, stock={("TEA-001", "SH"): 25}, safety={"TEA-001": 20})
    await place(services, items={"TEA-001": 6})  # 19: alert
    async with services.unit_of_work(SYSTEM) as ctx:
        # when one transaction receives stock (29: re-armed) and then sells it below again (19)
        await backorders.receive(ctx, "TEA-001", "SH", 10)
        await place_order(ctx, OrderDraft("C001", (DraftLine("TEA-001", 10),)))
    # then that second crossing alerts too: what the transaction knew of the flag was kept current
    assert [e["available"] for e in await events(services, "stock.low")] == [19, 19]


async def test_kit_stock_is_derived_from_components(services):
    await seed(services, stock={("TEA-001", "SH"): 7, ("CUP-01", "SH"): 10, ("CUP-01", "GZ"): 4})
    view = await as_user(services, None, lambda ctx: stock_view(ctx, "GIFT-01"))
    by_wh = {row["warehouse"]: row for row in view["warehouses"]}
    assert view["kit"] is True
    assert (by_wh["SH"]["on_hand"], by_wh["SH"]["available"]) == (3, 3)  # 7 tea // 2 = 3, 10 cups // 2 = 5
    assert by_wh["GZ"]["available"] == 0
    await place(services, items={"GIFT-01": 1})
    view = await as_user(services, None, lambda ctx: stock_view(ctx, "GIFT-01"))
    sh = {row["warehouse"]: row for row in view["warehouses"]}["SH"]
    assert (sh["on_hand"], sh["reserved"], sh["available"]) == (3, 1, 2)
    assert await stock(services, "TEA-001", "SH") == (7, 2)
    assert await stock(services, "CUP-01", "SH") == (10, 2)


async def test_adjustment_may_not_take_reserved_units(services):
    await seed(services, stock={("TEA-001", "SH"): 5})
    await place(services, items={"TEA-001": 4})
    with pytest.raises(NotEnoughOnHand, match="5 on hand, 4 reserved, 1 free"):
        await as_user(services, "张仓", lambda ctx: backorders.adjust(ctx, "TEA-001", "SH", -2, "broken"))
    assert await stock(services, "TEA-001", "SH") == (5, 4)
    await as_user(services, "张仓", lambda ctx: backorders.adjust(ctx, "TEA-001", "SH", -1, "broken"))
    assert await stock(services, "TEA-001", "SH") == (4, 4)


async def test_unknown_sku_in_a_receipt_suggests_the_nearest(services):
    await seed(services)
    with pytest.raises(UnknownSku, match="Did you mean CUP-01"):
        await as_user(services, "张仓", lambda ctx: backorders.receive(ctx, "CUP-1", "SH", 5))
