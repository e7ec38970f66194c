"""Pages of orders for machines: the REST API's ``GET /orders``, filtered by the ``OrderFilter``
the exports and the chat's ``/export`` share (``core.orders.filters``).

Newest first by id, which only grows: a page ends at an order, the next page starts below its id,
so orders created while a client pages through never push a row onto a page it already read (no
repeats) nor past one it has yet to read (no skips); they appear on the first page next time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select

from core.auth import Permission
from core.context import Context
from core.errors import N_, InvalidInput
from core.inventory.models import Reservation, ReservationStatus, Warehouse
from core.orders.filters import OrderFilter
from core.orders.models import Order
from core.orders.repository import select_orders

MAX_PAGE = 100


class UnknownCursor(InvalidInput):
    """``starting_after`` names nothing the reader may see (so the page cannot start there)."""

    code = "unknown_cursor"
    template = N_("starting_after: {key} is not one you can see.")
    key: str


class PageSizeOutOfRange(InvalidInput):
    code = "page_size_out_of_range"
    template = N_("limit must be from 1 to {limit}, not {value}.")
    value: int
    limit: int


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]  # with lines and customer loaded
    has_more: bool


async def list_orders(
    ctx: Context, where: OrderFilter, limit: int = 20, starting_after: str | None = None
) -> OrderPage:
    """The orders the actor may see that match ``where``, newest first, ``limit`` of them after the
    order ``starting_after`` (an order number from the previous page)."""
    actor = ctx.actor
    actor.require(Permission.ORDER_VIEW)
    if not 1 <= limit <= MAX_PAGE:
        raise PageSizeOutOfRange(value=limit, limit=MAX_PAGE)
    stmt = select_orders()
    if actor.only_own_orders:
        stmt = stmt.where(Order.customer_id == actor.customer_id)
    if actor.only_own_warehouses:
        stmt = stmt.where(
            exists()
            .where(
                Reservation.order_id == Order.id,
                Reservation.status != ReservationStatus.RELEASED,
                Reservation.warehouse_id == Warehouse.id,
                Warehouse.code.in_(sorted(actor.warehouses)),
            )
            .correlate(Order)
        )
    stmt = stmt.where(*where.conditions())
    if starting_after is not None:
        after = await _cursor_id(ctx, starting_after)
        stmt = stmt.where(Order.id < after)
    rows = list(await ctx.session.scalars(stmt.order_by(Order.id.desc()).limit(limit + 1)))
    return OrderPage(orders=rows[:limit], has_more=len(rows) > limit)


async def _cursor_id(ctx: Context, order_no: str) -> int:
    key = order_no.strip().upper()
    stmt = select(Order.id).where(Order.order_no == key)
    if ctx.actor.only_own_orders:
        stmt = stmt.where(Order.customer_id == ctx.actor.customer_id)
    found = await ctx.session.scalar(stmt)
    if found is None:
        raise UnknownCursor(key=key)
    return found
