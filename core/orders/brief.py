"""An order as the chat's one-message answer shows it (``/order SO-…``), read in as few statements
as it needs.

``views.order_detail`` is the whole order (returns, history, every shipment's lines) for the API
and the CLI, nine statements and an ORM object per row. The chat answer needs less and is asked
for far more often, so it is read here with pre-built Core selects: one statement for the order,
its customer, its lines and where their units are (with whether it has shipments or work orders
at all), and one more for each of those only when it has them. Contracts, whose answer lists
their stages, take the full view. The keys and values are those of ``order_detail``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, bindparam, exists, select

from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.customers.models import Customer
from core.db.inline_sqlite import quick
from core.errors import OrderNotFound
from core.inventory.models import Reservation, ReservationStatus, Warehouse
from core.orders.models import Order, OrderLine, Shipment
from core.orders.repository import OrderRef, authorize
from core.orders.status import OrderKind
from core.orders.views import order_detail
from core.production.models import WorkOrder

_o, _c, _l = Order.__table__.c, Customer.__table__.c, OrderLine.__table__.c
_r, _w, _p = Reservation.__table__.c, Warehouse.__table__.c, Product.__table__.c
_s, _wo = Shipment.__table__.c, WorkOrder.__table__.c

# One row per reservation of each line (a line without any: one row, the reservation's columns NULL).
_ORDER = (
    select(
        _o.id,
        _o.order_no,
        _o.customer_id,
        _o.kind,
        _o.status,
        _o.payment_status,
        _o.payment_terms,
        _o.channel,
        _o.channel_order_no,
        _o.total,
        _o.currency,
        _o.hold_reasons,
        _o.review_reason,
        _c.name.label("customer_name"),
        exists().where(_s.order_id == _o.id).label("has_shipments"),
        exists().where(_wo.order_id == _o.id).label("has_work_orders"),
        _l.id.label("line_id"),
        _l.sku,
        _l.name,
        _l.qty,
        _l.unit_price,
        _w.code.label("warehouse"),
        _p.sku.label("component"),
        _r.status.label("reservation_status"),
        _r.qty.label("reserved_qty"),
    )
    .select_from(
        Order.__table__.join(Customer.__table__, _c.id == _o.customer_id)
        .outerjoin(OrderLine.__table__, _l.order_id == _o.id)
        .outerjoin(
            Reservation.__table__,
            and_(_r.order_line_id == _l.id, _r.order_id == _o.id, _r.status != ReservationStatus.RELEASED),
        )
        .outerjoin(Warehouse.__table__, _w.id == _r.warehouse_id)
        .outerjoin(Product.__table__, _p.id == _r.product_id)
    )
    .where(_o.order_no == bindparam("order_no"))
    .order_by(_l.id, _r.id)
)
_SHIPMENTS = (
    select(_s.carrier, _s.tracking_no, _s.status, _s.exception_reason)
    .add_columns(_s.last_event_at, _s.last_location, _s.last_event)
    .where(_s.order_id == bindparam("order_id"))
    .order_by(_s.id)
)
_WORK_ORDERS = (
    select(_wo.mo_no, _wo.status, _p.sku, _wo.qty)
    .join_from(WorkOrder.__table__, Product.__table__, _p.id == _wo.product_id)
    .where(_wo.order_id == bindparam("order_id"))
    .order_by(_wo.id)
)


async def order_brief(ctx: Context, order_no: str) -> dict[str, Any]:
    """What ``bot.handlers.orders.order_text`` shows of the order, for those who may see it."""
    number = order_no.strip().upper()
    with quick():  # by the order's unique number
        rows = (await ctx.session.execute(_ORDER, {"order_no": number})).all()
    if not rows:
        raise OrderNotFound(order_no=number)
    head = rows[0]
    await authorize(ctx, OrderRef(head.id, head.order_no, head.customer_id), Permission.ORDER_VIEW)
    if head.kind == OrderKind.CONTRACT:
        return await order_detail(ctx, number)
    return {
        "order_no": head.order_no,
        "kind": str(head.kind),
        "contract": None,
        "status": str(head.status),
        "payment_status": str(head.payment_status),
        "payment_terms": str(head.payment_terms),
        "channel": head.channel,
        "channel_order_no": head.channel_order_no,
        "customer": {"name": head.customer_name},
        "lines": _lines(rows),
        "total": str(head.total),
        "currency": head.currency,
        "hold_reasons": head.hold_reasons,
        "review_reason": head.review_reason,
        "shipments": await _shipments(ctx, head.id) if head.has_shipments else [],
        "work_orders": await _work_orders(ctx, head.id) if head.has_work_orders else [],
    }


def _lines(rows: list[Any]) -> list[dict[str, Any]]:
    """The lines in order, each with its units per warehouse, component and state (summed as
    ``order_detail`` sums them, in its order: warehouse, then component, then state)."""
    lines: dict[int, dict[str, Any]] = {}
    held: dict[int, dict[tuple[str, str, str], int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row.line_id is None:  # an order without lines
            continue
        if row.line_id not in lines:
            lines[row.line_id] = {"sku": row.sku, "name": row.name, "qty": row.qty, "unit_price": str(row.unit_price)}
        if row.warehouse is not None:
            held[row.line_id][(row.warehouse, row.component, str(row.reservation_status))] += row.reserved_qty
    for line_id, line in lines.items():
        line["allocations"] = [
            {
                "warehouse": code,
                "sku": sku,
                "qty": qty,
                "state": "shipped" if state == ReservationStatus.CONSUMED else "reserved",
            }
            for (code, sku, state), qty in sorted(held.get(line_id, {}).items())
        ]
    return list(lines.values())


async def _shipments(ctx: Context, order_id: int) -> list[dict[str, Any]]:
    return [
        {
            "carrier": s.carrier,
            "tracking_no": s.tracking_no,
            "status": str(s.status),
            "exception_reason": s.exception_reason,
            "last_event": (
                {"at": s.last_event_at.isoformat(), "location": s.last_location, "description": s.last_event}
                if s.last_event_at
                else None
            ),
        }
        for s in await ctx.session.execute(_SHIPMENTS, {"order_id": order_id})
    ]


async def _work_orders(ctx: Context, order_id: int) -> list[dict[str, Any]]:
    rows = await ctx.session.execute(_WORK_ORDERS, {"order_id": order_id})
    return [{"mo_no": no, "status": str(status), "sku": sku, "qty": qty} for no, status, sku, qty in rows]
