"""Read models: an order as the CLI, the API and the chat layer show it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from core.audit.models import AuditRecord
from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.contracts.views import contract_detail
from core.inventory.models import Reservation, ReservationStatus, Warehouse
from core.orders.models import Order, ReturnRequest, Shipment, ShipmentLine
from core.orders.repository import authorize, load_order
from core.orders.status import OrderKind, OrderStatus
from core.production.models import WorkOrder
from core.shipping import tracking


@dataclass(frozen=True)
class OrderSummary:
    """One line of an order list: enough to pick the order to look at."""

    order_no: str
    status: OrderStatus
    total: Decimal


async def recent_orders(ctx: Context, limit: int = 5) -> list[OrderSummary]:
    """The newest orders the actor may see (a customer: only their own), newest first."""
    ctx.actor.require(Permission.ORDER_VIEW)
    stmt = select(Order.order_no, Order.status, Order.total).order_by(Order.id.desc()).limit(limit)
    if ctx.actor.only_own_orders:
        stmt = stmt.where(Order.customer_id == ctx.actor.customer_id)
    return [OrderSummary(no, OrderStatus(status), total) for no, status, total in await ctx.session.execute(stmt)]


async def order_detail(ctx: Context, order_no: str) -> dict[str, Any]:
    order = await load_order(ctx, order_no)
    await authorize(ctx, order, Permission.ORDER_VIEW)
    allocations = await _allocations(ctx, order)
    return {
        "order_no": order.order_no,
        "kind": str(order.kind),
        "contract": await contract_detail(ctx, order) if order.kind == OrderKind.CONTRACT else None,
        "status": str(order.status),
        "payment_status": str(order.payment_status),
        "payment_terms": str(order.payment_terms),
        "channel": order.channel,
        "channel_order_id": order.external_ref,  # the channel's own id (None: entered here)
        "channel_order_no": order.channel_order_no,  # what the shop shows: "#1001"
        "version": order.version,
        "customer": {"code": order.customer.code, "name": order.customer.name, "tier": order.customer.tier},
        "ship_to": order.ship_to,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "qty": line.qty,
                "list_price": str(line.list_price),
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
                "shipped_qty": line.shipped_qty,
                "returned_qty": line.returned_qty,
                "allocations": allocations.get(line.id, []),
            }
            for line in order.lines
        ],
        "subtotal": str(order.subtotal),
        "discount_total": str(order.discount_total),
        "total": str(order.total),
        "currency": order.currency,
        "paid_amount": str(order.paid_amount),
        "refunded_amount": str(order.refunded_amount),
        "price_breakdown": order.price_breakdown,
        "hold_reasons": order.hold_reasons,
        "review_reason": order.review_reason,
        "allocation": order.allocation_plan,
        "shipments": await _shipments(ctx, order),
        "returns": await _returns(ctx, order),
        "work_orders": await _work_orders(ctx, order),
        "created_at": order.created_at.isoformat(),
        "history": await _history(ctx, order),
    }


async def _work_orders(ctx: Context, order: Order) -> list[dict[str, Any]]:
    """The order's work orders (make-to-order lines), oldest first."""
    rows = await ctx.session.execute(
        select(WorkOrder.mo_no, WorkOrder.status, Product.sku, WorkOrder.qty)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(WorkOrder.order_id == order.id)
        .order_by(WorkOrder.id)
    )
    return [{"mo_no": no, "status": str(status), "sku": sku, "qty": qty} for no, status, sku, qty in rows]


async def _allocations(ctx: Context, order: Order) -> dict[int, list[dict[str, Any]]]:
    """Per line: where its units are reserved or were shipped from (kit lines list components)."""
    rows = await ctx.session.execute(
        select(Reservation.order_line_id, Warehouse.code, Product.sku, Reservation.status, func.sum(Reservation.qty))
        .join(Warehouse, Warehouse.id == Reservation.warehouse_id)
        .join(Product, Product.id == Reservation.product_id)
        .where(Reservation.order_id == order.id, Reservation.status != ReservationStatus.RELEASED)
        .group_by(Reservation.order_line_id, Warehouse.code, Product.sku, Reservation.status)
        .order_by(Reservation.order_line_id, Warehouse.code, Product.sku)
    )
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line_id, code, sku, status, qty in rows:
        result[line_id].append(
            {
                "warehouse": code,
                "sku": sku,
                "qty": int(qty),
                "state": "shipped" if status == ReservationStatus.CONSUMED else "reserved",
            }
        )
    return dict(result)


async def _shipments(ctx: Context, order: Order) -> list[dict[str, Any]]:
    shipments = list(
        await ctx.session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id))
    )
    skus = {line.id: line.sku for line in order.lines}
    out = []
    for s in shipments:
        lines = await ctx.session.execute(
            select(ShipmentLine.order_line_id, ShipmentLine.qty).where(ShipmentLine.shipment_id == s.id)
        )
        out.append(
            {
                "carrier": s.carrier,
                "tracking_no": s.tracking_no,
                "status": str(s.status),
                "exception_reason": s.exception_reason,
                "lines": {skus[line_id]: qty for line_id, qty in lines},
                # The carrier's latest scan (by its own time), for "where is my order".
                "last_event": (
                    {"at": s.last_event_at.isoformat(), "location": s.last_location, "description": s.last_event}
                    if s.last_event_at
                    else None
                ),
            }
        )
    return out


async def tracking_timeline(ctx: Context, order_no: str) -> list[dict[str, Any]]:
    """Each shipment of the order with its scans, oldest first (only for those who may see the order)."""
    order = await load_order(ctx, order_no)
    await authorize(ctx, order, Permission.ORDER_VIEW)
    shipments = list(
        await ctx.session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id))
    )
    scans = await tracking.history(ctx, [s.id for s in shipments])
    return [
        {
            "carrier": s.carrier,
            "tracking_no": s.tracking_no,
            "status": str(s.status),
            "exception_reason": s.exception_reason,
            "events": [
                {
                    "at": e.occurred_at.isoformat(),
                    "status": str(e.status),
                    "reason": e.reason,
                    "location": e.location,
                    "description": e.description,
                }
                for e in scans
                if e.shipment_id == s.id
            ],
        }
        for s in shipments
    ]


async def _returns(ctx: Context, order: Order) -> list[dict[str, Any]]:
    rows = await ctx.session.scalars(
        select(ReturnRequest).where(ReturnRequest.order_id == order.id).order_by(ReturnRequest.id)
    )
    return [
        {
            "rma_no": r.rma_no,
            "status": str(r.status),
            "resolution": r.resolution,
            "refund_amount": str(r.refund_amount),
            "reason": r.reason,
        }
        for r in rows
    ]


async def _history(ctx: Context, order: Order) -> list[dict[str, Any]]:
    rows = await ctx.session.scalars(
        select(AuditRecord).where(AuditRecord.order_id == order.id).order_by(AuditRecord.id)
    )
    return [
        {
            "at": r.created_at.isoformat(),
            "action": r.action,
            "from": r.from_state,
            "to": r.to_state,
            "actor": r.actor,
            "source": r.source,
            "reason": r.reason,
            "entity": r.entity,
        }
        for r in rows
    ]
