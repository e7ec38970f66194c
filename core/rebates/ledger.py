"""Accruing rebates as orders complete, and reversing them as refunded returns come back.

Each row books the change to one period's net sales and rebate: the period's rebate is worked out
again on its whole new volume (``core.rebates.terms``) and the row carries the difference, so a row
that crosses a step up carries the catch-up and a return that falls back below a step takes it back.

A row belongs to the period of the day it is booked (in the business's timezone): net sales of a
period are the orders completed in it less the goods refunded in it. A refund of an order that has
not accrued yet (returned before it was completed) books nothing; the order accrues net of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.audit.record import audit
from core.catalog.models import Product
from core.context import Context
from core.customers.models import Customer
from core.events.catalogue import RebateAccrued
from core.events.store import record
from core.orders.models import Order, OrderLine, ReturnLine, ReturnRequest
from core.rebates.models import CreditUse, EntryKind, RebateAgreement, RebateEntry
from core.rebates.terms import ZERO, period_label, period_of, rate_for, rebate_on, steps_of
from core.timers.service import schedule

CENT = Decimal("0.01")
SETTLE = "rebate.settle"  # the durable timer that settles a period when it ends


async def agreement_for(ctx: Context, customer: Customer) -> RebateAgreement | None:
    """The customer's own agreement, else their group's (one of each at most; see the loader)."""
    own = await ctx.session.scalar(
        select(RebateAgreement).where(RebateAgreement.customer_id == customer.id, RebateAgreement.active.is_(True))
    )
    if own is not None or not customer.customer_group:
        return own
    return await ctx.session.scalar(
        select(RebateAgreement).where(
            RebateAgreement.customer_group == customer.customer_group, RebateAgreement.active.is_(True)
        )
    )


def local_day(ctx: Context, at: datetime | None = None) -> date:
    return (at or ctx.now()).astimezone(ZoneInfo(ctx.settings.timezone)).date()


def period_end_at(ctx: Context, end: date) -> datetime:
    """When a period ends: midnight starting its last day's next day, in the business's timezone."""
    return datetime.combine(end, time(0, 0), ZoneInfo(ctx.settings.timezone))


@dataclass(frozen=True)
class PeriodTotals:
    net_sales: Decimal
    rebate: Decimal
    reversed: Decimal  # the rebate returns took back (≤ 0)


async def totals(ctx: Context, agreement_id: int, customer_id: int, start: date) -> PeriodTotals:
    row = (
        await ctx.session.execute(
            select(
                func.coalesce(func.sum(RebateEntry.net_sales), 0),
                func.coalesce(func.sum(RebateEntry.rebate), 0),
            ).where(
                RebateEntry.agreement_id == agreement_id,
                RebateEntry.customer_id == customer_id,
                RebateEntry.period_start == start,
            )
        )
    ).one()
    reversed_ = await ctx.session.scalar(
        select(func.coalesce(func.sum(RebateEntry.rebate), 0)).where(
            RebateEntry.agreement_id == agreement_id,
            RebateEntry.customer_id == customer_id,
            RebateEntry.period_start == start,
            RebateEntry.kind == EntryKind.REVERSAL,
        )
    )
    return PeriodTotals(_dec(row[0]), _dec(row[1]), _dec(reversed_))


def _dec(value: object) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


async def _book(
    ctx: Context,
    agreement: RebateAgreement,
    order: Order,
    kind: EntryKind,
    key: str,
    net: Decimal,
) -> RebateEntry | None:
    if net == 0:
        return None  # nothing in the agreement's product line: the order leaves the period as it was
    if await ctx.session.scalar(select(RebateEntry.id).where(RebateEntry.key == key)) is not None:
        return None  # booked before: never twice
    now = ctx.now()
    start, end = period_of(agreement.period, local_day(ctx, now))
    before = await totals(ctx, agreement.id, order.customer_id, start)
    steps = steps_of(agreement.steps)
    period_net = before.net_sales + net
    entry = RebateEntry(
        key=key,
        agreement_id=agreement.id,
        customer_id=order.customer_id,
        period_start=start,
        kind=kind,
        order_id=order.id,
        net_sales=net,
        rebate=rebate_on(steps, period_net) - before.rebate,
        rate=rate_for(steps, period_net),
        period_net=period_net,
        booked_at=now,
    )
    ctx.session.add(entry)
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action=f"rebate_{kind}",
        reason=f"{agreement.name} {period_label(agreement.period, start)}",
        net_sales=str(net),
        rebate=str(entry.rebate),
        rate=str(entry.rate),
    )
    await schedule(
        ctx,
        SETTLE,
        f"{SETTLE}:{agreement.id}:{order.customer_id}:{start.isoformat()}",
        period_end_at(ctx, end),
        agreement_id=agreement.id,
        customer_id=order.customer_id,
        period_start=start.isoformat(),
    )
    customer = await ctx.session.get(Customer, order.customer_id)
    record(
        ctx,
        RebateAccrued(
            customer=customer.code if customer else "",
            order_no=order.order_no,
            kind=str(kind),
            period=period_label(agreement.period, start),
            net_sales=net,
            rebate=entry.rebate,
            rate=entry.rate,
            period_net=period_net,
            step_changed=rate_for(steps, before.net_sales) != entry.rate,
            at=now,
        ),
    )
    await ctx.session.flush()
    return entry


async def _lines(ctx: Context, order: Order) -> list[tuple[OrderLine, str | None]]:
    rows = await ctx.session.execute(
        select(OrderLine, Product.product_line)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
    )
    return [(line, product_line) for line, product_line in rows]


async def _share(ctx: Context, order: Order) -> Decimal:
    """What the order's goods sold for, per unit of list value: its total before rebate credit
    (a rebate is not earned on a rebate) over its subtotal."""
    if order.subtotal == 0:
        return ZERO
    credit = await ctx.session.scalar(select(CreditUse.amount).where(CreditUse.order_id == order.id))
    return (order.total + (credit or ZERO)) / order.subtotal


def _net(units: list[tuple[OrderLine, int]], share: Decimal) -> Decimal:
    gross = sum((line.unit_price * qty for line, qty in units), ZERO)
    return (gross * share).quantize(CENT, rounding=ROUND_HALF_UP)


async def accrue(ctx: Context, order: Order) -> RebateEntry | None:
    """The order completed: its net sales (in the agreement's product line) count toward the period."""
    customer = await ctx.session.get(Customer, order.customer_id)
    agreement = await agreement_for(ctx, customer) if customer else None
    if agreement is None or order.replaces_order_id is not None:
        return None
    exchanged = await _exchanged_units(ctx, order)
    units = [
        (line, line.qty - line.returned_qty + exchanged.get(line.id, 0))
        for line, product_line in await _lines(ctx, order)
        if agreement.product_line is None or product_line == agreement.product_line
    ]
    net = _net(units, await _share(ctx, order))
    return await _book(ctx, agreement, order, EntryKind.ACCRUAL, f"accrual:{order.order_no}", net)


async def _exchanged_units(ctx: Context, order: Order) -> dict[int, int]:
    """Units returned for an exchange: the customer still bought them (only refunds reduce net sales)."""
    rows = await ctx.session.execute(
        select(ReturnLine.order_line_id, func.sum(ReturnLine.qty))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.replacement_order_id.is_not(None))
        .group_by(ReturnLine.order_line_id)
    )
    return {line_id: int(qty) for line_id, qty in rows}


async def reverse(ctx: Context, rma: ReturnRequest, order: Order) -> RebateEntry | None:
    """Goods of an order were refunded: if the order accrued, its period's net sales fall by their value."""
    accrual = (
        await ctx.session.scalars(select(RebateEntry).where(RebateEntry.key == f"accrual:{order.order_no}"))
    ).one_or_none()
    if accrual is None:
        return None
    agreement = await ctx.session.get(RebateAgreement, accrual.agreement_id)
    lines = dict((line.id, (line, product_line)) for line, product_line in await _lines(ctx, order))
    units = [
        (lines[rl.order_line_id][0], rl.qty)
        for rl in rma.lines
        if agreement.product_line is None or lines[rl.order_line_id][1] == agreement.product_line
    ]
    net = _net(units, await _share(ctx, order))
    return await _book(ctx, agreement, order, EntryKind.REVERSAL, f"reversal:{rma.rma_no}", -net)
