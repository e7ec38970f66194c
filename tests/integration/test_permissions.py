"""Authorization lives in the services: roles, own warehouses, own orders; refusals are audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit.models import AuditRecord
from core.auth import PermissionDenied
from core.errors import NotFound
from core.inventory.stock import stock_view
from core.orders import confirmation, fulfilment, payments
from core.orders.views import order_detail
from tests.support.master_data import seed
from tests.support.service_calls import as_user, detail, place


async def test_customer_sees_own_order_and_not_anothers(services):
    await seed(services)
    mine = await place(services, customer="C001")
    theirs = await place(services, customer="C002")
    assert (await as_user(services, "杭州茶社", lambda ctx: order_detail(ctx, mine)))["order_no"] == mine
    with pytest.raises(NotFound):
        await as_user(services, "杭州茶社", lambda ctx: order_detail(ctx, theirs))


async def test_customer_may_not_order_for_someone_else(services):
    await seed(services)
    with pytest.raises(PermissionDenied):
        await place(services, customer="C002", by="杭州茶社")


async def test_sales_may_not_approve_and_the_refusal_is_audited(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 50})
    with pytest.raises(PermissionDenied, match="You may not approve or reject orders"):
        await as_user(services, "李雷", lambda ctx: confirmation.approve(ctx, no))
    assert (await detail(services, no))["status"] == "pending_approval"
    denied = await as_user(
        services, None, lambda ctx: ctx.session.scalars(select(AuditRecord).where(AuditRecord.action == "denied"))
    )
    assert [(r.actor, r.source) for r in denied] == [("李雷", "test:李雷")]


async def test_warehouse_staff_act_only_on_their_warehouse(services):
    await seed(services)
    no = await place(services, payment_terms="credit")  # allocated in SH
    with pytest.raises(PermissionDenied, match="not allocated to your warehouse"):
        await as_user(services, "广仓", lambda ctx: fulfilment.start_picking(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.start_picking(ctx, no))
    assert (await detail(services, no))["status"] == "picking"


async def test_warehouse_staff_see_only_their_warehouses_stock(services):
    await seed(services)
    view = await as_user(services, "广仓", lambda ctx: stock_view(ctx, "TEA-001"))
    assert [row["warehouse"] for row in view["warehouses"]] == ["GZ"]


async def test_only_finance_confirms_payment(services):
    await seed(services)
    no = await place(services)
    with pytest.raises(PermissionDenied):
        await as_user(services, "张仓", lambda ctx: payments.confirm_payment(ctx, no))
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
