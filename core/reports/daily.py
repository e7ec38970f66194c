"""Today's figures, in the business's time zone: what the daily digest sends.

The orders and sales are ``core.reports.figures``' (accepted goods orders only, see its docstring),
so the digest says what ``/report today`` and the dashboard say. ``by_status`` is what came in
today: every goods order created today by its status now, those not (or no longer) sales included,
so a reader sees how many wait on hold or for approval; project contracts are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from core.auth import Permission
from core.context import Context
from core.orders.models import Order
from core.orders.status import OrderKind
from core.reports import figures
from core.reports.periods import named


@dataclass(frozen=True)
class DailyFigures:
    orders: int  # today's sales orders
    sales: Decimal
    by_status: list[tuple[str, int]]  # every goods order entered today, most common status first


async def today(ctx: Context) -> DailyFigures:
    ctx.actor.require(Permission.REPORT_VIEW)
    period = named("today", ctx.now(), ctx.settings.timezone)
    summary = await figures.summary(ctx, period)
    rows = (
        await ctx.session.execute(
            select(Order.status, func.count())
            .where(
                Order.created_at >= period.start,
                Order.created_at < period.end,
                Order.kind == OrderKind.STANDARD.value,
            )
            .group_by(Order.status)
        )
    ).all()
    by_status = sorted(((str(s), int(n)) for s, n in rows), key=lambda r: (-r[1], r[0]))
    return DailyFigures(summary.orders, summary.sales, by_status)
