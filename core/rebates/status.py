"""What ``/rebate C001`` shows: the current period's net sales, step, rate, accrued, and the next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.auth import Permission
from core.context import Context
from core.customers.models import Customer
from core.errors import CustomerNotFound
from core.rebates import credit, ledger
from core.rebates.errors import NoRebateAgreement, OwnRebateOnly
from core.rebates.models import CreditNote, CreditNoteStatus
from core.rebates.terms import ZERO, Step, next_step, period_label, period_of, rate_for, step_reached, steps_of


@dataclass(frozen=True)
class RebateStatus:
    customer: str
    customer_name: str
    agreement: str
    product_line: str | None
    period: str  # 2026-Q4
    period_start: date
    period_end: date  # exclusive
    net_sales: Decimal
    step: int | None  # 1-based number of the step reached; None below the first
    rate: Decimal
    accrued: Decimal  # the period's rebate so far (reversals taken off)
    reversed: Decimal  # of which returns took back (≤ 0)
    next_step: Step | None
    to_next: Decimal | None  # net sales still to go to the next step
    steps: tuple[Step, ...]
    credit_available: Decimal
    pending_notes: tuple[str, ...]


async def rebate_status(ctx: Context, customer_code: str) -> RebateStatus:
    """Customers see only their own; staff who may view orders see any (the ``/order`` rule)."""
    ctx.actor.require(Permission.ORDER_VIEW)
    code = customer_code.strip()
    customer = (await ctx.session.scalars(select(Customer).where(Customer.code == code))).one_or_none()
    if ctx.actor.only_own_orders and (customer is None or customer.id != ctx.actor.customer_id):
        raise OwnRebateOnly(actor=ctx.actor.name, permission=Permission.ORDER_VIEW, account=code)
    if customer is None:
        raise CustomerNotFound(customer=code)
    agreement = await ledger.agreement_for(ctx, customer)
    if agreement is None:
        raise NoRebateAgreement(customer=customer.code)
    start, end = period_of(agreement.period, ledger.local_day(ctx))
    totals = await ledger.totals(ctx, agreement.id, customer.id, start)
    steps = steps_of(agreement.steps)
    reached = step_reached(steps, totals.net_sales)
    upcoming = next_step(steps, totals.net_sales)
    pending = await ctx.session.scalars(
        select(CreditNote.note_no)
        .where(CreditNote.customer_id == customer.id, CreditNote.status == CreditNoteStatus.PENDING)
        .order_by(CreditNote.id)
    )
    return RebateStatus(
        customer=customer.code,
        customer_name=customer.name,
        agreement=agreement.name,
        product_line=agreement.product_line,
        period=period_label(agreement.period, start),
        period_start=start,
        period_end=end,
        net_sales=totals.net_sales,
        step=reached[0] + 1 if reached else None,
        rate=rate_for(steps, totals.net_sales),
        accrued=totals.rebate,
        reversed=totals.reversed,
        next_step=upcoming,
        to_next=(upcoming.above - totals.net_sales) if upcoming else None,
        steps=steps,
        credit_available=await credit.available(ctx, customer.id),
        pending_notes=tuple(pending),
    )


async def current_rate(ctx: Context, customer: Customer) -> Decimal:
    """The rate the customer's current period has reached (0 without an agreement): ``customer.rebate_rate``
    in workflow conditions."""
    agreement = await ledger.agreement_for(ctx, customer)
    if agreement is None:
        return ZERO
    start, _ = period_of(agreement.period, ledger.local_day(ctx))
    totals = await ledger.totals(ctx, agreement.id, customer.id, start)
    return rate_for(steps_of(agreement.steps), totals.net_sales)
