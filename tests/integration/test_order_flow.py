"""The order lifecycle end to end through the service layer, on a real SQLite database."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.errors import ConcurrencyConflict, InvalidTransition
from core.orders import cancellation, confirmation, fulfilment, payments
from core.orders.fulfilment import ShipRequest
from core.orders.models import Order, ReconciliationTask
from core.orders.status import ReconciliationStatus, ShipmentStatus
from tests.support.master_data import seed
from tests.support.service_calls import as_user, audit_count, detail, events, place, stock


async def test_full_lifecycle_from_entry_to_completion(services):
    # Given stock in Shanghai and a VIP customer in Hangzhou
    await seed(services)
    # When sales enters a prepaid order
    no = await place(services, items={"TEA-001": 2, "CUP-01": 1})
    assert re.fullmatch(r"SO-\d+", no)
    order = await detail(services, no)
    # Then it is priced from the VIP list, split across the warehouses holding stock, and waits for money
    assert order["status"] == "awaiting_payment"
    assert order["lines"][0]["unit_price"] == "128.00"  # no VIP list in the builder seed: catalogue price
    assert order["total"] == "301.00"
    assert {a["warehouse"] for line in order["lines"] for a in line["allocations"]} == {"SH", "GZ"}
    assert await stock(services, "TEA-001", "SH") == (100, 2)

    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no, reference="bank 123"))
    assert (await detail(services, no))["status"] == "ready_to_pick"
    # Each warehouse picks, packs and ships its own part
    await as_user(services, "张仓", lambda ctx: fulfilment.start_picking(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.pack(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "SF1001")))
    assert (await detail(services, no))["status"] == "partially_shipped"
    assert await stock(services, "TEA-001", "SH") == (98, 0)
    await as_user(services, "广仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("YTO", "YT2002")))
    assert (await detail(services, no))["status"] == "shipped"
    assert await stock(services, "CUP-01", "GZ") == (39, 0)
    # Carriers report delivery; the order is delivered when every parcel is
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "SF", "SF1001", ShipmentStatus.DELIVERED))
    assert (await detail(services, no))["status"] == "shipped"
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "YTO", "YT2002", ShipmentStatus.IN_TRANSIT))
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "YTO", "YT2002", ShipmentStatus.DELIVERED))
    assert (await detail(services, no))["status"] == "delivered"
    await as_user(services, "李雷", lambda ctx: fulfilment.complete(ctx, no))

    final = await detail(services, no)
    assert final["status"] == "completed"
    assert final["payment_status"] == "paid"
    steps = [(h["from"], h["to"]) for h in final["history"] if h["entity"] == "order" and h["to"]]
    assert steps == [
        (None, "received"),
        ("received", "confirmed"),
        ("confirmed", "allocated"),
        ("allocated", "awaiting_payment"),
        ("awaiting_payment", "ready_to_pick"),
        ("ready_to_pick", "picking"),
        ("picking", "packed"),
        ("packed", "partially_shipped"),
        ("partially_shipped", "shipped"),
        ("shipped", "delivered"),
        ("delivered", "completed"),
    ]
    tracked = [(h["from"], h["to"]) for h in final["history"] if h["entity"] == "shipment"]
    assert tracked == [("label_created", "delivered"), ("label_created", "in_transit"), ("in_transit", "delivered")]
    actors = {h["actor"] for h in final["history"]}
    assert {"李雷", "王芳", "张仓", "广仓"} <= actors
    assert len(await events(services, "order.shipped")) == 2


async def test_credit_order_goes_straight_to_picking_and_creates_a_finance_task(services):
    await seed(services)
    no = await place(services, payment_terms="credit")
    order = await detail(services, no)
    assert order["status"] == "ready_to_pick"
    task = await as_user(
        services,
        None,
        lambda ctx: ctx.session.scalar(
            select(ReconciliationTask).join(Order, Order.id == ReconciliationTask.order_id).where(Order.order_no == no)
        ),
    )
    assert (task.status, task.amount) == (ReconciliationStatus.OPEN, Decimal(order["total"]))
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
    from core.customers.models import Customer

    balance = await as_user(
        services,
        None,
        lambda ctx: ctx.session.scalar(select(Customer.outstanding_balance).where(Customer.code == "C001")),
    )
    assert balance == Decimal("0.00")


async def test_large_order_waits_for_approval_then_is_allocated(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 50})  # 6,400.00 > 5,000 threshold
    order = await detail(services, no)
    assert order["status"] == "pending_approval"
    assert "approval threshold" in order["review_reason"]
    assert await stock(services, "TEA-001", "SH") == (100, 0)  # nothing reserved before approval
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no, expected_version=order["version"]))
    assert (await detail(services, no))["status"] == "awaiting_payment"
    assert await stock(services, "TEA-001", "SH") == (100, 50)


async def test_second_approval_is_refused_naming_the_state_and_changes_nothing(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 50})
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    before = await detail(services, no)
    rows = await audit_count(services)
    with pytest.raises(InvalidTransition, match="it is awaiting payment"):
        await as_user(services, "经理", lambda ctx: confirmation.approve(ctx, no))
    after = await detail(services, no)
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    assert await audit_count(services) == rows


async def test_a_tap_on_a_stale_version_is_refused(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 50})
    version = (await detail(services, no))["version"]
    await as_user(services, "王芳", lambda ctx: confirmation.reject(ctx, no, "price too low", expected_version=version))
    with pytest.raises(ConcurrencyConflict):
        await as_user(services, "经理", lambda ctx: confirmation.approve(ctx, no, expected_version=version))
    assert (await detail(services, no))["status"] == "rejected"


async def test_rejected_is_terminal(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 50})
    await as_user(services, "王芳", lambda ctx: confirmation.reject(ctx, no, "customer asked too much"))
    with pytest.raises(InvalidTransition, match="it is rejected"):
        await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, no, "oops"))


async def test_cancel_releases_reservations_and_refunds_what_was_paid(services):
    await seed(services)
    no = await place(services)
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
    assert await stock(services, "TEA-001", "SH") == (100, 2)
    await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, no, "customer changed mind"))
    order = await detail(services, no)
    assert order["status"] == "cancelled"
    assert order["payment_status"] == "refunded"
    assert order["refunded_amount"] == order["total"]
    assert await stock(services, "TEA-001", "SH") == (100, 0)
    assert order["lines"][0]["allocations"] == []


async def test_cancelling_a_shipped_order_is_refused_and_changes_nothing(services):
    await seed(services)
    no = await place(services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "SF1")))
    before = await stock(services, "TEA-001", "SH")
    with pytest.raises(InvalidTransition, match="Cannot cancel SO-\\d+: it is shipped"):
        await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, no, "too late"))
    assert (await detail(services, no))["status"] == "shipped"
    assert await stock(services, "TEA-001", "SH") == before


async def test_partial_shipment_of_chosen_lines(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 5}, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "A1", lines={"TEA-001": 2})))
    order = await detail(services, no)
    assert order["status"] == "partially_shipped"
    assert order["lines"][0]["shipped_qty"] == 2
    assert await stock(services, "TEA-001", "SH") == (98, 3)
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "A2")))
    assert (await detail(services, no))["status"] == "shipped"
    assert await stock(services, "TEA-001", "SH") == (95, 0)


async def test_repeated_or_stale_carrier_events_change_nothing(services):
    await seed(services)
    no = await place(services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "B1")))
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "SF", "B1", ShipmentStatus.OUT_FOR_DELIVERY))
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "SF", "B1", ShipmentStatus.IN_TRANSIT))
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "SF", "B1", ShipmentStatus.OUT_FOR_DELIVERY))
    order = await detail(services, no)
    assert order["shipments"][0]["status"] == "out_for_delivery"
    assert len(await events(services, "shipment.status_changed")) == 1
