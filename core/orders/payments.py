"""Money in and out: confirming payment, and the refunds that cancellations and returns cause."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.contracts import service as contracts
from core.customers import balance
from core.orders.confirmation import route_by_payment
from core.orders.errors import PaymentAlreadyRecorded, PaymentNotDue
from core.orders.lifecycle import can
from core.orders.models import Order, ReconciliationTask
from core.orders.repository import acting_on
from core.orders.status import OrderKind, OrderStatus, PaymentStatus, PaymentTerms, ReconciliationStatus


async def confirm_payment(
    ctx: Context, order_no: str, *, reference: str | None = None, expected_version: int | None = None
) -> Order:
    """Finance confirms the order is paid in full (offline transfer, channel settlement, invoice)."""
    order = await acting_on(ctx, order_no, Permission.PAYMENT_CONFIRM, expected_version)
    if order.kind == OrderKind.CONTRACT:  # a contract is paid invoice by invoice, oldest first
        await contracts.pay_invoice(ctx, order, reference)
        await ctx.session.flush()
        return order
    if order.payment_status != PaymentStatus.UNPAID:
        raise PaymentAlreadyRecorded(order_no=order.order_no, payment=PaymentStatus(order.payment_status))
    if not can(order, "pay"):
        raise PaymentNotDue(order_no=order.order_no, state=OrderStatus(order.status))
    invoice = await _open_invoice(ctx, order) if order.payment_terms == PaymentTerms.CREDIT else None
    # A credit invoice may have shrunk since the order (goods returned before it was paid):
    # the payment is what it says now, not the order's total.
    due = invoice.amount if invoice is not None else order.total
    order.payment_status = PaymentStatus.PAID
    order.paid_amount = due
    order.updated_at = ctx.now()
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="payment_confirmed",
        reason=reference,
        amount=str(due),
    )
    if order.payment_terms == PaymentTerms.CREDIT:
        await settle_credit(ctx, order, invoice)
    if order.status == OrderStatus.AWAITING_PAYMENT:
        await route_by_payment(ctx, order)
    await ctx.session.flush()
    return order


async def settle_credit(ctx: Context, order: Order, task: ReconciliationTask | None) -> None:
    """A credit order's invoice is paid: free the credit it still holds and close finance's task."""
    await balance.credit(ctx, order.customer_id, task.amount if task is not None else order.total)
    if task is not None:
        task.status = ReconciliationStatus.SETTLED


async def _open_invoice(ctx: Context, order: Order) -> ReconciliationTask | None:
    task = (
        await ctx.session.scalars(select(ReconciliationTask).where(ReconciliationTask.order_id == order.id))
    ).one_or_none()
    return task if task is not None and task.status == ReconciliationStatus.OPEN else None


async def release_credit(ctx: Context, order: Order) -> None:
    """An unpaid credit order was cancelled: the customer no longer owes it."""
    task = (
        await ctx.session.scalars(select(ReconciliationTask).where(ReconciliationTask.order_id == order.id))
    ).one_or_none()
    if task is None or task.status != ReconciliationStatus.OPEN:
        return
    task.status = ReconciliationStatus.VOID
    await balance.credit(ctx, order.customer_id, task.amount)


def refund(ctx: Context, order: Order, amount: Decimal, reason: str) -> Decimal:
    """Record a refund of up to what was paid and not yet refunded; returns what was refunded."""
    refundable = order.paid_amount - order.refunded_amount
    amount = min(amount, refundable)
    if amount <= 0:
        return Decimal("0.00")
    order.refunded_amount += amount
    order.payment_status = (
        PaymentStatus.REFUNDED if order.refunded_amount >= order.paid_amount else PaymentStatus.PARTIALLY_REFUNDED
    )
    audit(
        ctx, entity="order", key=order.order_no, order_id=order.id, action="refund", reason=reason, amount=str(amount)
    )
    return amount


async def reduce_credit_invoice(ctx: Context, order: Order, amount: Decimal) -> None:
    """Goods returned before a credit invoice was paid: the customer owes that much less."""
    task = (
        await ctx.session.scalars(select(ReconciliationTask).where(ReconciliationTask.order_id == order.id))
    ).one_or_none()
    if task is None or task.status != ReconciliationStatus.OPEN:
        return
    amount = min(amount, task.amount)
    task.amount -= amount
    await balance.credit(ctx, order.customer_id, amount)
    audit(ctx, entity="order", key=order.order_no, order_id=order.id, action="credit_note", amount=str(amount))
