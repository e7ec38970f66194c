"""Cancelling an order before it ships: reservations go back on the shelf (its work orders' too, the
work orders cancelled with their purchase requests), money goes back."""

from __future__ import annotations

from core.auth import Permission
from core.context import Context
from core.contracts import service as contracts
from core.inventory.allocation import release_order
from core.orders import approvals
from core.orders.backorders import release_backorders
from core.orders.errors import CancellationNeedsReason
from core.orders.history import change_status
from core.orders.models import Order
from core.orders.payments import refund, release_credit
from core.orders.repository import acting_on
from core.orders.status import OrderKind, PaymentTerms
from core.production import planning as production
from core.timers import service as timers


async def cancel(ctx: Context, order_no: str, reason: str, *, expected_version: int | None = None) -> Order:
    if not reason or not reason.strip():
        raise CancellationNeedsReason(order_no=order_no)
    order = await acting_on(ctx, order_no, Permission.ORDER_CANCEL, expected_version)
    milestones = await contracts.check_cancellable(ctx, order) if order.kind == OrderKind.CONTRACT else []
    await change_status(ctx, order, "cancel", reason=reason)
    await approvals.void(ctx, order)
    # Customer row before stock rows: the order placement takes its locks in, so no deadlock.
    if order.payment_terms == PaymentTerms.CREDIT:
        await release_credit(ctx, order)
    if order.kind == OrderKind.CONTRACT:
        # A contract holds no stock, and what was invoiced (all paid: see check_cancellable) was
        # for work accepted: those payments stand. The rest is dropped and its overdue clocks stop.
        contracts.drop_open_milestones(ctx, order, milestones)
        await timers.cancel(ctx, f"milestone:{order.order_no}:")
        return order
    # Work orders first: their materials go back on the shelf with the order's own reservations.
    freed_products = await production.cancel_for_order(ctx, order, reason)
    freed_products |= await release_order(ctx, order.id, f"{order.order_no} cancelled: {reason}")
    refund(ctx, order, order.paid_amount, f"cancelled: {reason}")
    if freed_products:
        await release_backorders(ctx, freed_products)
    return order
