"""Today's figures, in the business's time zone: what the report command and the digest send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.auth import Permission
from core.context import Context
from core.orders.models import Order

NOT_SALES = ("cancelled", "rejected")


@dataclass(frozen=True)
class DailyFigures:
    orders: int
    sales: Decimal
    by_status: list[tuple[str, int]]  # most common first


async def today(ctx: Context) -> DailyFigures:
    ctx.actor.require(Permission.REPORT_VIEW)
    zone = ZoneInfo(ctx.settings.timezone)
    start = datetime.combine(ctx.now().astimezone(zone).date(), time.min, zone)
    rows = (
        await ctx.session.execute(
            select(Order.status, func.count()).where(Order.created_at >= start).group_by(Order.status)
        )
    ).all()
    sales = await ctx.session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).where(Order.created_at >= start, Order.status.not_in(NOT_SALES))
    )
    by_status = sorted(((str(s), int(n)) for s, n in rows), key=lambda r: (-r[1], r[0]))
    return DailyFigures(sum(n for _, n in by_status), Decimal(str(sales)).quantize(Decimal("0.01")), by_status)
