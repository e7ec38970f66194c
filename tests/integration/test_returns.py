"""Returns: their own lifecycle, restock only on a passed inspection, refunds in proportion, exchanges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidInput, InvalidTransition
from core.orders import fulfilment, payments, returns
from core.orders.errors import NotReturnable
from core.orders.fulfilment import ShipRequest
from tests.support.master_data import seed
from tests.support.service_calls import as_user, detail, place, stock


async def shipped_order(services, items=None, **draft) -> str:
    no = await place(services, items=items or {"TEA-001": 4}, **draft)
    if (await detail(services, no))["status"] == "awaiting_payment":
        await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", f"T{no}")))
    return no


async def test_return_with_passed_inspection_restocks_and_refunds(services):
    await seed(services)
    no = await shipped_order(services)
    assert await stock(services, "TEA-001", "SH") == (96, 0)
    rma = await as_user(
        services, "杭州茶社", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 1}, "leaking bag")
    )
    assert rma.rma_no.startswith("RMA-")
    await as_user(services, "客服", lambda ctx: returns.approve_return(ctx, rma.rma_no))
    await as_user(services, "张仓", lambda ctx: returns.receive_return(ctx, rma.rma_no, "SH"))
    await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=True))
    assert await stock(services, "TEA-001", "SH") == (97, 0)
    refunded = await as_user(services, "王芳", lambda ctx: returns.refund_return(ctx, rma.rma_no))
    assert refunded.refund_amount == Decimal("128.00")
    order = await detail(services, no)
    assert order["payment_status"] == "partially_refunded"
    assert order["lines"][0]["returned_qty"] == 1
    assert order["returns"][0]["status"] == "refunded"
    await as_user(services, "客服", lambda ctx: returns.close_return(ctx, rma.rma_no))


async def test_failed_inspection_does_not_restock(services):
    await seed(services)
    no = await shipped_order(services)
    rma = await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 2}, "opened"))
    await as_user(services, "客服", lambda ctx: returns.approve_return(ctx, rma.rma_no))
    await as_user(services, "张仓", lambda ctx: returns.receive_return(ctx, rma.rma_no, "SH"))
    await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=False, note="used"))
    assert await stock(services, "TEA-001", "SH") == (96, 0)


async def test_refund_follows_the_discount_the_customer_got(services):
    await seed(services)
    no = await shipped_order(services, discount_percent=Decimal("10"))  # 512 − 10% = 460.80
    rma = await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 1}, "wrong"))
    await as_user(services, "客服", lambda ctx: returns.approve_return(ctx, rma.rma_no))
    await as_user(services, "张仓", lambda ctx: returns.receive_return(ctx, rma.rma_no, "SH"))
    await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=True))
    refunded = await as_user(services, "王芳", lambda ctx: returns.refund_return(ctx, rma.rma_no))
    assert refunded.refund_amount == Decimal("115.20")


async def test_cannot_return_more_than_shipped_or_twice(services):
    await seed(services)
    no = await shipped_order(services)
    with pytest.raises(InvalidInput, match="can return 1 to 4"):
        await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 5}, "too many"))
    await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 3}, "first"))
    with pytest.raises(InvalidInput, match="can return 1 to 1"):
        await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 2}, "again"))


async def test_return_steps_out_of_order_are_refused(services):
    await seed(services)
    no = await shipped_order(services)
    rma = await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 1}, "x"))
    with pytest.raises(InvalidTransition, match="it is requested"):
        await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=True))


async def test_exchange_creates_a_linked_replacement_order_at_no_charge(services):
    await seed(services)
    no = await shipped_order(services)
    rma = await as_user(
        services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 1}, "crushed", resolution="exchange")
    )
    await as_user(services, "客服", lambda ctx: returns.approve_return(ctx, rma.rma_no))
    await as_user(services, "张仓", lambda ctx: returns.receive_return(ctx, rma.rma_no, "SH"))
    await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=False))
    _, replacement = await as_user(services, "客服", lambda ctx: returns.exchange_return(ctx, rma.rma_no))
    order = await detail(services, replacement.order_no)
    assert order["total"] == "0.00"
    assert order["status"] == "ready_to_pick"
    assert "replacement for" in (await as_user(services, None, lambda ctx: _note(ctx, replacement.order_no)))


async def _note(ctx, order_no):
    from core.orders.repository import load_order

    return (await load_order(ctx, order_no)).note


async def test_an_unshipped_order_cannot_be_returned(services):
    await seed(services)
    no = await place(services)
    with pytest.raises(NotReturnable, match="only goods that have shipped"):
        await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 1}, "x"))


async def test_paying_a_credit_invoice_after_a_return_pays_what_is_still_owed(services):
    # Given a credit order of 512.00, shipped, with one of four bags returned before the invoice is paid
    await seed(services)
    no = await shipped_order(services, payment_terms="credit")
    rma = await as_user(services, "客服", lambda ctx: returns.request_return(ctx, no, {"TEA-001": 1}, "leaking bag"))
    await as_user(services, "客服", lambda ctx: returns.approve_return(ctx, rma.rma_no))
    await as_user(services, "张仓", lambda ctx: returns.receive_return(ctx, rma.rma_no, "SH"))
    await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=True))
    await as_user(services, "王芳", lambda ctx: returns.refund_return(ctx, rma.rma_no))
    assert await owed(services) == Decimal("384.00")  # the credit note took the bag off the invoice
    # When finance confirms the payment
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
    # Then what was paid is the invoice as it stands, and the customer owes nothing (not less than nothing)
    assert (await detail(services, no))["paid_amount"] == "384.00"
    assert await owed(services) == Decimal("0.00")


async def owed(services, code: str = "C001") -> Decimal:
    from sqlalchemy import select

    from core.customers.models import Customer

    return await as_user(
        services,
        None,
        lambda ctx: ctx.session.scalar(select(Customer.outstanding_balance).where(Customer.code == code)),
    )
