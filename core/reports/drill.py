"""What the dashboard needs beyond the figures: a salesperson-by-product-line pivot, and the orders
behind any figure (a slice of the pie, a region, a salesperson, a channel), so a manager can
click a number and see which orders make it.

Both are computed by the database over the same set of orders as ``core.reports.figures``
(its ``is_sale``: accepted goods orders created in the period; orders not accepted yet, refused or
cancelled ones and project contracts left out), so a drill-down adds up to its figure and a
pivot row to the salesperson's sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.customers.models import Customer
from core.orders.models import Order, OrderLine
from core.reports.figures import BREAKDOWNS, UnknownBreakdown, _in_group, _in_period, _line_revenue, _money
from core.reports.periods import Period
from core.users.models import User

DRILL_LIMIT = 200


@dataclass(frozen=True)
class Pivot:
    rows: list[str]  # salespeople, most sales first ("" for orders without one)
    columns: list[str]  # product lines, most sales first
    cells: dict[tuple[str, str], Decimal]  # (salesperson, line) -> line revenue

    def row_total(self, row: str) -> Decimal:
        return sum((v for (r, _), v in self.cells.items() if r == row), Decimal("0.00"))


@dataclass(frozen=True)
class OrderRow:
    order_no: str
    customer: str
    status: str
    total: Decimal
    created_at: datetime


@dataclass(frozen=True)
class Drill:
    by: str
    key: str
    orders: list[OrderRow]  # newest first, at most ``DRILL_LIMIT``
    count: int  # every order behind the figure
    sales: Decimal  # their order totals (a product line: those orders' whole totals)


async def pivot(ctx: Context, period: Period) -> Pivot:
    """Line revenue by salesperson and product line (the seed's 销售员透视)."""
    ctx.actor.require(Permission.REPORT_VIEW)
    line = func.coalesce(Product.product_line, "")
    rows = (
        await ctx.session.execute(
            select(User.name, line, func.sum(_line_revenue()))
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .outerjoin(User, User.id == Order.salesperson_id)
            .where(_in_period(period))
            .group_by(User.name, line)
        )
    ).all()
    cells: dict[tuple[str, str], Decimal] = {}
    for person, product_line, revenue in rows:
        key = (person or "", product_line or "")
        cells[key] = cells.get(key, Decimal("0.00")) + _money(revenue)
    by_row: dict[str, Decimal] = {}
    by_column: dict[str, Decimal] = {}
    for (person, product_line), value in cells.items():
        by_row[person] = by_row.get(person, Decimal("0")) + value
        by_column[product_line] = by_column.get(product_line, Decimal("0")) + value
    order = lambda totals: sorted(totals, key=lambda k: (-totals[k], k))  # noqa: E731
    return Pivot(order(by_row), order(by_column), cells)


async def orders_behind(ctx: Context, period: Period, by: str | None, key: str) -> Drill:
    """The orders behind one group of a breakdown (``by`` as in ``figures.breakdown``), or behind
    the period's whole figure (``by`` None), with how many there are and their totals."""
    ctx.actor.require(Permission.REPORT_VIEW)
    where = [_in_period(period)]
    if by is not None:
        if by not in BREAKDOWNS:
            raise UnknownBreakdown(by=by)
        where.append(await _in_group(ctx, period, by, key))
    count, sales = (await ctx.session.execute(select(func.count(), func.sum(Order.total)).where(*where))).one()
    rows = (
        await ctx.session.execute(
            select(Order.order_no, Customer.name, Order.status, Order.total, Order.created_at)
            .join(Customer, Customer.id == Order.customer_id)
            .where(*where)
            .order_by(Order.id.desc())
            .limit(DRILL_LIMIT)
        )
    ).all()
    orders = [OrderRow(no, customer, str(status), _money(total), at) for no, customer, status, total, at in rows]
    return Drill(by or "", key, orders, int(count), _money(sales))
