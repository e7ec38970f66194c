"""Rebate figures for the customer statement (对账单): what the documents module calls.

``rebate_summary(ctx, customer_id, start, end)`` covers the days ``start`` to ``end`` inclusive, in
the business's timezone, for rows booked and notes decided in them:

- ``accrued``: rebate the completed orders earned (accrual rows; a step crossed includes its catch-up)
- ``reversed``: rebate refunded returns took back (reversal rows, ≤ 0)
- ``settled``: credit notes finance approved
- ``used``: credit the customer's orders used (orders placed in the window, not cancelled or rejected)
- ``balance``: credit left to use at the end of the window (approved notes less use, to date)

All Decimal with two places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.context import Context
from core.orders.models import Order
from core.rebates.credit import GIVEN_BACK
from core.rebates.models import CreditNote, CreditNoteStatus, CreditUse, EntryKind, RebateEntry

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RebateSummary:
    accrued: Decimal
    reversed: Decimal
    settled: Decimal
    used: Decimal
    balance: Decimal


def _bounds(ctx: Context, start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(ctx.settings.timezone)
    return datetime.combine(start, time(0, 0), zone), datetime.combine(end + timedelta(days=1), time(0, 0), zone)


async def _sum(ctx: Context, stmt) -> Decimal:  # noqa: ANN001 (a select of one SUM)
    return Decimal(str(await ctx.session.scalar(stmt) or 0)).quantize(ZERO)


async def rebate_summary(ctx: Context, customer_id: int, start: date, end: date) -> RebateSummary:
    since, until = _bounds(ctx, start, end)

    def entries(kind: EntryKind):  # noqa: ANN202
        return select(func.coalesce(func.sum(RebateEntry.rebate), 0)).where(
            RebateEntry.customer_id == customer_id,
            RebateEntry.kind == kind,
            RebateEntry.booked_at >= since,
            RebateEntry.booked_at < until,
        )

    approved = CreditNote.customer_id == customer_id, CreditNote.status == CreditNoteStatus.APPROVED
    uses = (
        select(func.coalesce(func.sum(CreditUse.amount), 0))
        .join(Order, Order.id == CreditUse.order_id)
        .where(CreditUse.customer_id == customer_id, Order.status.not_in(list(GIVEN_BACK)))
    )
    settled = await _sum(
        ctx,
        select(func.coalesce(func.sum(CreditNote.amount), 0)).where(
            *approved, CreditNote.decided_at >= since, CreditNote.decided_at < until
        ),
    )
    used = await _sum(ctx, uses.where(Order.created_at >= since, Order.created_at < until))
    approved_to_date = await _sum(
        ctx, select(func.coalesce(func.sum(CreditNote.amount), 0)).where(*approved, CreditNote.decided_at < until)
    )
    used_to_date = await _sum(ctx, uses.where(Order.created_at < until))
    return RebateSummary(
        accrued=await _sum(ctx, entries(EntryKind.ACCRUAL)),
        reversed=await _sum(ctx, entries(EntryKind.REVERSAL)),
        settled=settled,
        used=used,
        balance=max(approved_to_date - used_to_date, ZERO),
    )
