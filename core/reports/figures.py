"""The business's figures for a period, computed by the database (nothing loads all orders).

What counts as a sale, everywhere (every figure, breakdown, series, the return rate, the
dashboard's pivot and drill-downs, the daily digest): a **standard (goods) order, created in the
period, that was accepted**. Left out are orders not accepted yet (received, on hold, pending
approval), refused or called off (rejected, cancelled), and project contracts (``kind ==
"contract"``: a contract value invoiced by milestone, with its own report, ``/projects``). One
filter, ``is_sale``, says it; ``SALE_STATUSES`` lists the statuses it keeps. Sales are the order
totals (after discounts). Everything else follows from the same set of orders:

- ``summary``: orders, sales, average order value and the gross margin. A line's revenue is its
  share of what the order charged (its line total scaled by total / subtotal, so order-level
  discounts count); its cost is qty x the product's cost. Lines whose product has no cost are not
  counted as zero cost: their revenue is reported apart as ``unknown_revenue``.
- ``breakdown``: the same sales by product line (line revenue), region (the delivery address's
  province, folded by ``core.reports.regions``), salesperson or channel (order totals).
- ``return_rate``: of those orders, how many have a return that was not rejected.
- ``series``: sales per local hour (a one-day period) or per local day, every bucket present.
- ``orders_behind``: the orders a figure or a group of a breakdown is made of (a drill-down).
- ``stages``: time spent per status and the orders waiting longest (``core.reports.stages``).

Every function takes a ``Period`` (``core.reports.periods``: today / 7d / 30d / a date range in the
business's time zone) and requires REPORT_VIEW.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, cast, distinct, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.errors import N_, InvalidInput
from core.orders.models import Order, OrderLine, ReturnRequest
from core.orders.status import OrderKind, OrderStatus, ReturnStatus
from core.reports.periods import Period, date_range, named, parse
from core.reports.regions import province_name
from core.reports.stages import StallReport, stall_report
from core.users.models import User

__all__ = [
    "BREAKDOWNS",
    "Breakdown",
    "Group",
    "Margin",
    "OrderRef",
    "Period",
    "ReturnRate",
    "Series",
    "Summary",
    "breakdown",
    "date_range",
    "is_sale",
    "named",
    "orders_behind",
    "parse",
    "return_rate",
    "series",
    "stages",
    "summary",
]

# Not accepted yet (before acceptance) and refused or called off (after it): never sales.
NOT_ACCEPTED = (OrderStatus.RECEIVED, OrderStatus.ON_HOLD, OrderStatus.PENDING_APPROVAL)
NOT_SALES = (*NOT_ACCEPTED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
SALE_STATUSES = tuple(s.value for s in OrderStatus if s not in NOT_SALES)
BREAKDOWNS = ("line", "region", "sales", "channel")
By = Literal["line", "region", "sales", "channel"]
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class UnknownBreakdown(InvalidInput):
    code = "unknown_report_breakdown"
    template = N_("Reports break down by line, region, sales or channel, not {by}.")
    by: str


@dataclass(frozen=True)
class Margin:
    revenue: Decimal  # revenue of lines whose product has a cost
    cost: Decimal
    unknown_revenue: Decimal  # revenue of lines without a cost: their margin is unknown
    unknown_lines: int

    @property
    def amount(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def percent(self) -> Decimal | None:
        """Margin as a percentage of the revenue it is known for; None when it is known for none."""
        if not self.revenue:
            return None
        return (self.amount / self.revenue * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Summary:
    period: Period
    orders: int
    sales: Decimal
    margin: Margin

    @property
    def average(self) -> Decimal | None:
        """Average order value; None for a period without orders."""
        return (self.sales / self.orders).quantize(CENT, ROUND_HALF_UP) if self.orders else None


@dataclass(frozen=True)
class Group:
    key: str  # product line, province, salesperson's name or channel; "" when the order names none
    orders: int
    sales: Decimal


@dataclass(frozen=True)
class Breakdown:
    period: Period
    by: str
    groups: list[Group]  # most sales first

    @property
    def sales(self) -> Decimal:
        return sum((g.sales for g in self.groups), ZERO)


@dataclass(frozen=True)
class ReturnRate:
    period: Period
    orders: int
    returned_orders: int  # orders with a return that was not rejected
    refunded: Decimal
    shipped_units: int
    returned_units: int

    @property
    def rate(self) -> Decimal | None:
        """Share of orders with a return, in percent; None without orders."""
        if not self.orders:
            return None
        return (Decimal(self.returned_orders) / self.orders * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Point:
    key: str  # local "2026-11-20" (by day) or "2026-11-20 09" (by hour)
    orders: int
    sales: Decimal


@dataclass(frozen=True)
class Series:
    period: Period
    unit: str  # hour | day
    points: list[Point]  # in time order, every hour or day of the period, empty ones as zero


MAX_SERIES_DAYS = 400


class SeriesTooLong(InvalidInput):
    code = "report_series_too_long"
    template = N_("Sales by day cover at most {limit} days, not {days}.")
    limit: int
    days: int


@dataclass(frozen=True)
class OrderRef:
    order_no: str
    created_at: datetime
    status: str
    channel: str
    total: Decimal


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def is_sale() -> ColumnElement[bool]:
    """The one definition of a sale: an accepted goods order (see the module's docstring)."""
    return and_(Order.kind == OrderKind.STANDARD.value, Order.status.in_(SALE_STATUSES))


def _in_period(period: Period) -> ColumnElement[bool]:
    """The period's sales: every figure and drill-down reads its orders through this."""
    return and_(Order.created_at >= period.start, Order.created_at < period.end, is_sale())


def _line_revenue() -> ColumnElement[float]:
    """The line's share of the order's total (order-level discounts spread over its lines)."""
    total, subtotal, line_total = (cast(c, Float) for c in (Order.total, Order.subtotal, OrderLine.line_total))
    return line_total * case((Order.subtotal > ZERO, total / subtotal), else_=literal(1.0, Float))


async def summary(ctx: Context, period: Period) -> Summary:
    ctx.actor.require(Permission.REPORT_VIEW)
    orders, sales = (
        await ctx.session.execute(select(func.count(), func.sum(Order.total)).where(_in_period(period)))
    ).one()
    revenue = _line_revenue()
    has_cost = Product.cost.is_not(None)
    known, cost, unknown, unknown_lines = (
        await ctx.session.execute(
            select(
                func.sum(case((has_cost, revenue))),
                func.sum(case((has_cost, OrderLine.qty * cast(Product.cost, Float)))),
                func.sum(case((has_cost, None), else_=revenue)),
                func.count(case((has_cost, None), else_=OrderLine.id)),
            )
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .where(_in_period(period))
        )
    ).one()
    margin = Margin(_money(known), _money(cost), _money(unknown), int(unknown_lines or 0))
    return Summary(period, int(orders), _money(sales), margin)


async def breakdown(ctx: Context, period: Period, by: str) -> Breakdown:
    """Sales and order counts per product line, region, salesperson or channel, most sales first."""
    ctx.actor.require(Permission.REPORT_VIEW)
    if by not in BREAKDOWNS:
        raise UnknownBreakdown(by=by)
    rows: list[tuple[Any, Any, Any]]
    if by == "line":
        key = func.coalesce(Product.product_line, "")
        query = (
            select(key, func.count(distinct(Order.id)), func.sum(_line_revenue()))
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .where(_in_period(period))
            .group_by(key)
        )
    elif by == "region":
        key = Order.ship_to["province"].as_string()
        query = select(key, func.count(), func.sum(Order.total)).where(_in_period(period)).group_by(key)
    elif by == "sales":
        query = (
            select(User.name, func.count(), func.sum(Order.total))
            .select_from(Order)
            .outerjoin(User, User.id == Order.salesperson_id)
            .where(_in_period(period))
            .group_by(Order.salesperson_id, User.name)
        )
    else:
        query = (
            select(Order.channel, func.count(), func.sum(Order.total)).where(_in_period(period)).group_by(Order.channel)
        )
    rows = [tuple(r) for r in (await ctx.session.execute(query)).all()]
    merged: dict[str, tuple[int, Decimal]] = {}
    for raw, count, sales in rows:
        name = province_name(raw) if by == "region" else (raw or "")
        before = merged.get(name, (0, ZERO))
        merged[name] = (before[0] + int(count), before[1] + _money(sales))
    groups = [Group(name, n, s) for name, (n, s) in merged.items()]
    groups.sort(key=lambda g: (-g.sales, -g.orders, g.key))
    return Breakdown(period, by, groups)


async def return_rate(ctx: Context, period: Period) -> ReturnRate:
    ctx.actor.require(Permission.REPORT_VIEW)
    orders = await ctx.session.scalar(select(func.count()).select_from(Order).where(_in_period(period)))
    returned, refunded = (
        await ctx.session.execute(
            select(func.count(distinct(ReturnRequest.order_id)), func.sum(ReturnRequest.refund_amount))
            .join(Order, Order.id == ReturnRequest.order_id)
            .where(_in_period(period), ReturnRequest.status != ReturnStatus.REJECTED.value)
        )
    ).one()
    shipped, returned_units = (
        await ctx.session.execute(
            select(func.sum(OrderLine.shipped_qty), func.sum(OrderLine.returned_qty))
            .join(Order, Order.id == OrderLine.order_id)
            .where(_in_period(period))
        )
    ).one()
    return ReturnRate(
        period, int(orders or 0), int(returned or 0), _money(refunded), int(shipped or 0), int(returned_units or 0)
    )


async def stages(ctx: Context, *, days: int = 7, top: int = 5) -> StallReport:
    """Time spent per status over the last ``days`` and the orders waiting longest."""
    return await stall_report(ctx, days=days, top=top)


def _offset_segments(period: Period) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets over the period: (until, seconds) pieces, the last one open (DST)."""
    zone = ZoneInfo(period.timezone)
    pieces: list[tuple[datetime, int]] = []
    # Stepped in UTC: adding an hour to a zoned time is wall-clock arithmetic and skips the change.
    at, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    offset = int(period.start.utcoffset().total_seconds())  # type: ignore[union-attr]
    while at < end:
        nxt = at + timedelta(hours=1)
        here = int(nxt.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if here != offset:
            pieces.append((nxt, offset))
            offset = here
        at = nxt
    return [*pieces, (end, offset)]


def _local_bucket(ctx: Context, period: Period, hourly: bool) -> ColumnElement[str]:
    """created_at as a local "YYYY-MM-DD[ HH]" string, computed by the database."""
    if ctx.session.bind.dialect.name == "postgresql":
        local = func.timezone(period.timezone, Order.created_at)
        return func.to_char(local, "YYYY-MM-DD HH24" if hourly else "YYYY-MM-DD")
    pieces = _offset_segments(period)
    shifts = [f"{seconds:+d} seconds" for _, seconds in pieces]
    shift: Any = literal(shifts[-1])
    if len(pieces) > 1:
        shift = case(*((Order.created_at < until, text) for (until, _), text in zip(pieces, shifts, strict=True)))
    return func.strftime("%Y-%m-%d %H" if hourly else "%Y-%m-%d", Order.created_at, shift)


async def series(ctx: Context, period: Period) -> Series:
    """Orders and sales per local hour (a one-day period) or per local day."""
    ctx.actor.require(Permission.REPORT_VIEW)
    if period.days > MAX_SERIES_DAYS:
        raise SeriesTooLong(limit=MAX_SERIES_DAYS, days=period.days)
    hourly = period.days == 1
    bucket = _local_bucket(ctx, period, hourly)
    rows = await ctx.session.execute(
        select(bucket, func.count(), func.sum(Order.total)).where(_in_period(period)).group_by(bucket)
    )
    found = {str(key): (int(n), _money(total)) for key, n, total in rows}
    zone = ZoneInfo(period.timezone)
    if hourly:
        day = period.first.isoformat()
        keys = [f"{day} {h:02d}" for h in range(24)]
        # A day the clocks change has 23 or 25 hours; the buckets are the local hours it has.
        keys = [k for k in keys if k in found or _hour_exists(period, int(k[-2:]), zone)]
    else:
        keys = [(period.first + timedelta(days=i)).isoformat() for i in range(period.days)]
    points = [Point(k, *found.get(k, (0, ZERO))) for k in keys]
    return Series(period, "hour" if hourly else "day", points)


def _hour_exists(period: Period, hour: int, zone: ZoneInfo) -> bool:
    local = datetime(period.first.year, period.first.month, period.first.day, hour, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).hour == hour


async def orders_behind(
    ctx: Context, period: Period, by: str | None = None, key: str | None = None, *, limit: int = 100
) -> list[OrderRef]:
    """The period's orders (newest first, at most ``limit``), or those of one group of a breakdown:
    ``by`` and the group's ``key`` as ``breakdown`` gave it ("" for the orders that name none)."""
    ctx.actor.require(Permission.REPORT_VIEW)
    query = select(Order.order_no, Order.created_at, Order.status, Order.channel, Order.total).where(_in_period(period))
    if by is not None:
        if by not in BREAKDOWNS:
            raise UnknownBreakdown(by=by)
        query = query.where(await _in_group(ctx, period, by, key or ""))
    rows = await ctx.session.execute(query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    return [OrderRef(no, at, str(status), channel, _money(total)) for no, at, status, channel, total in rows]


async def _in_group(ctx: Context, period: Period, by: str, key: str) -> ColumnElement[bool]:
    if by == "line":
        line = Product.product_line == key if key else Product.product_line.is_(None)
        has_line = (
            select(OrderLine.id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .where(OrderLine.order_id == Order.id, line)
        )
        return has_line.exists()
    if by == "region":
        province = Order.ship_to["province"].as_string()
        spellings = await ctx.session.scalars(select(province).where(_in_period(period)).distinct())
        raw = [p for p in spellings if p is not None and province_name(p) == key]
        matches = province.in_(raw)
        return or_(matches, province.is_(None)) if not key else matches
    if by == "sales":
        if not key:
            return Order.salesperson_id.is_(None)
        return Order.salesperson_id.in_(select(User.id).where(User.name == key))
    return Order.channel == key
