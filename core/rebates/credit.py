"""Rebate credit: credit notes finance approved, used up by the customer's next orders.

An order uses what credit is left, up to its total, when it is priced; pricing it again (an edit,
a re-validation) replaces its own use rather than adding a second, and an order cancelled or
rejected no longer counts as having used it, so the credit is back for the next order. The
customer's row is locked while credit is taken, so two orders placed at once cannot both spend it.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ScalarSelect, func, select

from core.audit.record import audit
from core.context import Context
from core.customers.models import Customer
from core.orders.models import Order
from core.orders.status import OrderStatus
from core.rebates.models import CreditNote, CreditNoteStatus, CreditUse

ZERO = Decimal("0.00")
GIVEN_BACK = (OrderStatus.CANCELLED, OrderStatus.REJECTED)


def _approved(customer_id: object) -> ScalarSelect[Decimal]:
    return (
        select(func.coalesce(func.sum(CreditNote.amount), 0))
        .where(CreditNote.customer_id == customer_id, CreditNote.status == CreditNoteStatus.APPROVED)
        .scalar_subquery()
    )


def approved_column() -> ScalarSelect[Decimal]:
    """The approved credit notes' total as a column of a query of ``Customer``, so a placement
    learns whether there is any credit with the customer row instead of in a query of its own."""
    return _approved(Customer.id)


def as_amount(total: object) -> Decimal:
    return Decimal(str(total)).quantize(ZERO)


async def approved_total(ctx: Context, customer_id: int) -> Decimal:
    return as_amount(await ctx.session.scalar(select(_approved(customer_id))))


async def used_total(ctx: Context, customer_id: int, *, excluding_order: int | None = None) -> Decimal:
    stmt = (
        select(func.coalesce(func.sum(CreditUse.amount), 0))
        .join(Order, Order.id == CreditUse.order_id)
        .where(CreditUse.customer_id == customer_id, Order.status.not_in(list(GIVEN_BACK)))
    )
    if excluding_order is not None:
        stmt = stmt.where(CreditUse.order_id != excluding_order)
    return Decimal(str(await ctx.session.scalar(stmt))).quantize(ZERO)


async def available(ctx: Context, customer_id: int, *, excluding_order: int | None = None) -> Decimal:
    """Approved credit notes less what live orders used (the credit the next order may use)."""
    left = await approved_total(ctx, customer_id) - await used_total(ctx, customer_id, excluding_order=excluding_order)
    return max(left, ZERO)


async def use_on(ctx: Context, order: Order, total: Decimal, *, approved: Decimal | None = None) -> Decimal:
    """Take the customer's credit for ``order`` (priced at ``total`` before it); returns what it uses.

    ``approved``: the approved total, when the caller read it already (with the customer). An order
    not stored yet has used nothing; it must be stored before it can use any credit.
    """
    existing = (
        None
        if order.id is None
        else (await ctx.session.scalars(select(CreditUse).where(CreditUse.order_id == order.id))).one_or_none()
    )
    if existing is None and (approved if approved is not None else await approved_total(ctx, order.customer_id)) == 0:
        return ZERO  # the common case: no credit notes at all, nothing locked
    if order.id is None:
        raise RuntimeError(f"{order.order_no} must be stored before it uses rebate credit")
    await ctx.session.execute(select(Customer.id).where(Customer.id == order.customer_id).with_for_update())
    use = min(await available(ctx, order.customer_id, excluding_order=order.id), max(total, ZERO))
    before = existing.amount if existing is not None else ZERO
    if existing is not None and use == 0:
        await ctx.session.delete(existing)
    elif existing is not None:
        existing.amount = use
    elif use > 0:
        ctx.session.add(CreditUse(customer_id=order.customer_id, order_id=order.id, amount=use, created_at=ctx.now()))
    if use != before:
        audit(ctx, entity="order", key=order.order_no, order_id=order.id, action="rebate_credit", amount=str(use))
    return use
