"""The dry run answers "what if Guangzhou were closed?" and reserves nothing."""

from __future__ import annotations

from core.inventory.dry_run import simulate
from tests.support.master_data import seed
from tests.support.service_calls import as_user, place, stock


async def test_closing_a_warehouse_shows_which_orders_would_move_or_wait(services):
    await seed(services, stock={("TEA-001", "GZ"): 5, ("TEA-001", "SH"): 2})
    # Two Guangzhou orders, both allocated from GZ
    first = await place(services, customer="C002", items={"TEA-001": 2})
    second = await place(services, customer="C002", items={"TEA-001": 3})
    before = await stock(services, "TEA-001", "GZ")
    results = await as_user(services, "李雷", lambda ctx: simulate(ctx, closed={"GZ"}, order_nos=[first, second]))
    by_no = {r.order_no: r.to_dict() for r in results}
    # With GZ closed, SH's 2 units are all there is: the older order gets them, the other would wait
    assert by_no[first]["warehouses"] == ["SH"]
    assert by_no[second]["shortages"] == {"TEA-001": 3}
    assert by_no[second]["complete"] is False
    assert "closed: GZ" in by_no[second]["explanation"]
    assert await stock(services, "TEA-001", "GZ") == before


async def test_without_a_closure_the_orders_own_reservations_count_as_free(services):
    await seed(services, stock={("TEA-001", "GZ"): 5})
    no = await place(services, customer="C002", items={"TEA-001": 5})
    [result] = await as_user(services, "李雷", lambda ctx: simulate(ctx, order_nos=[no]))
    assert result.plan.complete and result.plan.warehouses == ("GZ",)
