"""The order lifecycle through the service layer on a real SQLite database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.orders.confirmation import approve
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.views import order_detail
from tests.builders import SYSTEM, actor, seed


async def test_small_vip_order_is_confirmed_allocated_and_waits_for_payment(services):
    await seed(services)
    sales = await actor(services, "李雷")
    async with services.unit_of_work(sales) as ctx:
        order = await place_order(ctx, OrderDraft("C001", (DraftLine("TEA-001", 2),)))
    async with services.unit_of_work(SYSTEM) as ctx:
        detail = await order_detail(ctx, order.order_no)
    assert detail["status"] == "awaiting_payment"
    assert detail["lines"][0]["unit_price"] == "118.00" or detail["lines"][0]["unit_price"] == "128.00"
    assert detail["lines"][0]["allocations"] == [{"warehouse": "SH", "sku": "TEA-001", "qty": 2, "state": "reserved"}]
    print(detail["history"])
