"""What a production lead does with a work order: release, start, finish, cancel; and what they see.

Finishing consumes the reserved materials, receives the finished goods into the work order's
warehouse (stock movements ``consume`` and ``produce``), reserves them for the order's line, and
allocates the order again: with nothing left to make it goes on to picking as any order does
(``OrderReadyToPick``), or waits for payment.

Rights: ``Permission.PRODUCTION`` (the ``production`` role, and admin) to change a work order;
``STOCK_VIEW`` or ``PRODUCTION`` to look at them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.errors import ConcurrencyConflict
from core.events.catalogue import WorkOrderDone, WorkOrderReleased, WorkOrderStarted
from core.events.store import record
from core.inventory.demand import skus_by_id
from core.inventory.models import (
    MovementKind,
    PurchaseRequest,
    Reservation,
    ReservationStatus,
    Warehouse,
)
from core.inventory.reservations import change_on_hand, movement, ship_out, try_reserve
from core.inventory.stock import ensure_level
from core.orders import confirmation
from core.orders.models import Order
from core.orders.repository import select_orders
from core.production import planning
from core.production.errors import WorkOrderNeedsReason, WorkOrderNotFound
from core.production.lifecycle import OPEN, can
from core.production.models import WorkOrder, WorkOrderReservationStatus, WorkOrderStatus

VIEW = (Permission.PRODUCTION, Permission.STOCK_VIEW)


async def find_work_order(ctx: Context, mo_no: str, *, for_update: bool = False) -> WorkOrder:
    stmt = planning.select_work_orders().where(WorkOrder.mo_no == mo_no.strip().upper())
    if for_update:
        stmt = stmt.with_for_update(of=WorkOrder).execution_options(populate_existing=True)
    work_order = (await ctx.session.scalars(stmt)).one_or_none()
    if work_order is None:
        raise WorkOrderNotFound(mo_no=mo_no.strip().upper())
    return work_order


async def _acting_on(ctx: Context, mo_no: str, expected_version: int | None) -> tuple[WorkOrder, Order]:
    """Lock the order, then the work order: the order's own services (cancel, allocate) lock in
    that order too, so a lead finishing a work order and a salesperson cancelling its order queue
    instead of deadlocking."""
    ctx.actor.require(Permission.PRODUCTION)
    found = await find_work_order(ctx, mo_no)
    stmt = select_orders().where(Order.id == found.order_id).with_for_update(of=Order)
    order = (await ctx.session.scalars(stmt.execution_options(populate_existing=True))).one()
    work_order = await find_work_order(ctx, mo_no, for_update=True)
    if expected_version is not None and work_order.version != expected_version:
        raise ConcurrencyConflict(entity="work_order", key=work_order.mo_no, current=work_order.version)
    return work_order, order


async def _sku(ctx: Context, work_order: WorkOrder) -> str:
    return (await skus_by_id(ctx.session, [work_order.product_id]))[work_order.product_id]


async def release(ctx: Context, mo_no: str, *, expected_version: int | None = None) -> WorkOrder:
    return await _step(ctx, mo_no, "release", WorkOrderReleased, expected_version)


async def start(ctx: Context, mo_no: str, *, expected_version: int | None = None) -> WorkOrder:
    return await _step(ctx, mo_no, "start", WorkOrderStarted, expected_version)


async def _step(
    ctx: Context, mo_no: str, trigger: str, happened: type[WorkOrderReleased | WorkOrderStarted], version: int | None
) -> WorkOrder:
    """One move of the work order's lifecycle that changes nothing but its state, and its event."""
    work_order, order = await _acting_on(ctx, mo_no, version)
    await planning.change_work_order(ctx, work_order, trigger, order)
    sku = await _sku(ctx, work_order)
    record(
        ctx,
        happened(
            mo_no=work_order.mo_no,
            order_no=order.order_no,
            sku=sku,
            qty=work_order.qty,
            actor=ctx.actor.name,
            at=ctx.now(),
        ),
    )
    return work_order


async def finish(ctx: Context, mo_no: str, *, expected_version: int | None = None) -> WorkOrder:
    work_order, order = await _acting_on(ctx, mo_no, expected_version)
    await planning.change_work_order(ctx, work_order, "finish", order)
    reason = f"{work_order.mo_no} done"
    for reservation in await planning.active_reservations(ctx, work_order.id):
        await ship_out(ctx, reservation.product_id, reservation.warehouse_id, reservation.qty)
        reservation.status = WorkOrderReservationStatus.CONSUMED
        movement(
            ctx,
            MovementKind.CONSUME,
            reservation.product_id,
            reservation.warehouse_id,
            on_hand=-reservation.qty,
            reserved=-reservation.qty,
            order_id=order.id,
            reason=reason,
        )
    product_id, warehouse_id, qty = work_order.product_id, work_order.warehouse_id, work_order.qty
    await ensure_level(ctx, product_id, warehouse_id)
    await change_on_hand(ctx, product_id, warehouse_id, qty)
    movement(ctx, MovementKind.PRODUCE, product_id, warehouse_id, on_hand=qty, order_id=order.id, reason=reason)
    # The units are the order's: reserved for its line at once, so no other order's backorder takes them.
    if not await try_reserve(ctx, product_id, warehouse_id, qty):  # pragma: no cover - just received
        raise ConcurrencyConflict(entity="work_order", key=work_order.mo_no, current=work_order.version)
    ctx.session.add(
        Reservation(
            order_id=order.id,
            order_line_id=work_order.order_line_id,
            product_id=product_id,
            warehouse_id=warehouse_id,
            qty=qty,
            status=ReservationStatus.ACTIVE,
            created_at=ctx.now(),
        )
    )
    movement(ctx, MovementKind.RESERVE, product_id, warehouse_id, reserved=qty, order_id=order.id, reason=reason)
    warehouse = await ctx.session.get(Warehouse, warehouse_id)
    record(
        ctx,
        WorkOrderDone(
            mo_no=work_order.mo_no,
            order_no=order.order_no,
            sku=await _sku(ctx, work_order),
            qty=qty,
            warehouse=warehouse.code if warehouse else "",
            actor=ctx.actor.name,
            at=ctx.now(),
        ),
    )
    await ctx.session.flush()
    await confirmation.allocate(ctx, order)
    return work_order


async def cancel(ctx: Context, mo_no: str, reason: str, *, expected_version: int | None = None) -> WorkOrder:
    """The lead calls a work order off; its order waits (its salesperson is told)."""
    if not reason or not reason.strip():
        raise WorkOrderNeedsReason(mo_no=mo_no.strip().upper())
    work_order, order = await _acting_on(ctx, mo_no, expected_version)
    await planning.cancel_work_order(ctx, work_order, order, reason.strip())
    return work_order


# --- what people see ---------------------------------------------------------------------------


async def list_work_orders(ctx: Context, *, all_states: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Open work orders (or every one, newest first), as rows for a list."""
    ctx.actor.require_any(VIEW)
    stmt = _listed()
    if not all_states:
        stmt = stmt.where(WorkOrder.status.in_(OPEN))
    return [_row(*r) for r in (await ctx.session.execute(stmt.order_by(WorkOrder.id.desc()).limit(limit))).all()]


def _listed() -> Any:
    return (
        select(WorkOrder, Order.order_no, Product.sku, Product.name)
        .join(Order, Order.id == WorkOrder.order_id)
        .join(Product, Product.id == WorkOrder.product_id)
    )


def _row(wo: WorkOrder, order_no: str, sku: str, name: str) -> dict[str, Any]:
    return {
        "mo_no": wo.mo_no,
        "status": str(wo.status),
        "order_no": order_no,
        "sku": sku,
        "name": name,
        "qty": wo.qty,
        "version": wo.version,
        "created_at": wo.created_at.isoformat(),
    }


async def work_order_detail(ctx: Context, mo_no: str) -> dict[str, Any]:
    ctx.actor.require_any(VIEW)
    work_order = await find_work_order(ctx, mo_no)
    return await describe(ctx, work_order)


async def describe(ctx: Context, work_order: WorkOrder) -> dict[str, Any]:
    """A work order as the chat layer, the API and an MES see it."""
    order_no, order_status = (
        await ctx.session.execute(select(Order.order_no, Order.status).where(Order.id == work_order.order_id))
    ).one()
    product = await ctx.session.get(Product, work_order.product_id)
    warehouse = await ctx.session.get(Warehouse, work_order.warehouse_id)
    ids = [m.product_id for m in work_order.materials]
    names = dict((await ctx.session.execute(select(Product.id, Product.name).where(Product.id.in_(ids)))).all())
    skus = await skus_by_id(ctx.session, ids)
    requests = (
        await ctx.session.execute(
            select(PurchaseRequest.product_id, PurchaseRequest.qty, PurchaseRequest.status)
            .where(PurchaseRequest.work_order_id == work_order.id)
            .order_by(PurchaseRequest.id)
        )
    ).all()
    ended = work_order.status in (WorkOrderStatus.DONE, WorkOrderStatus.CANCELLED)
    return {
        "mo_no": work_order.mo_no,
        "status": str(work_order.status),
        "order_no": order_no,
        "order_status": str(order_status),
        "sku": product.sku if product else "",
        "name": product.name if product else "",
        "qty": work_order.qty,
        "warehouse": warehouse.code if warehouse else "",
        "version": work_order.version,
        "can": {t: can(work_order, t) for t in ("release", "start", "finish", "cancel")},
        "materials": [
            {
                "sku": skus[m.product_id],
                "name": names.get(m.product_id, ""),
                "required": m.required,
                "reserved": m.reserved,
                # A finished or cancelled work order waits for nothing: no shortage to show.
                "short": 0 if ended else m.required - m.reserved,
                "made": m.made,
            }
            for m in work_order.materials
        ],
        "purchase_requests": [
            {"sku": skus.get(pid, ""), "qty": qty, "status": str(status)} for pid, qty, status in requests
        ],
        "created_at": work_order.created_at.isoformat(),
        "updated_at": work_order.updated_at.isoformat(),
    }


async def page_work_orders(
    ctx: Context, *, status: str | None, limit: int, starting_after: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """Work orders newest first, a page at a time (cursor: the last MO number of the previous page),
    for an MES following production over the REST API; ``has_more`` as the second value."""
    ctx.actor.require_any(VIEW)
    stmt = _listed()
    if ctx.actor.only_own_orders:  # a customer's key: production for its own orders only
        stmt = stmt.where(Order.customer_id == ctx.actor.customer_id)
    if status is not None:
        stmt = stmt.where(WorkOrder.status == status)
    if starting_after is not None:
        after = await ctx.session.scalar(select(WorkOrder.id).where(WorkOrder.mo_no == starting_after))
        if after is None:
            raise WorkOrderNotFound(mo_no=starting_after)
        stmt = stmt.where(WorkOrder.id < after)
    rows = (await ctx.session.execute(stmt.order_by(WorkOrder.id.desc()).limit(limit + 1))).all()
    return [_row(*r) for r in rows[:limit]], len(rows) > limit
