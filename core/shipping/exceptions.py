"""What people do about a parcel in exception: tell the customer, send the goods again, take them back.

Each is a core service, so a card's button and any other entry point check the same rights: an
exception is handled by whoever may edit the order (service, its salesperson, an admin), and each
step also needs its own right (a reship places an order, a return is requested). Each writes the
order's audit, which is also how a second tap learns the exception was already handled
(``handled``). The shipment itself is not moved: only the carrier's next scan (or none, for a
reshipped parcel) says where it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.audit.models import AuditRecord
from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.errors import N_, InvalidInput
from core.orders.models import Order, OrderLine, Shipment, ShipmentLine
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.repository import authorize, load_order
from core.orders.returns import request_return
from core.orders.status import PaymentTerms, ShipmentStatus

HANDLING = ("customer_contacted", "reship", "return_opened")


class NotAnException(InvalidInput):
    code = "shipment_not_in_exception"
    template = N_("{carrier} {tracking_no} has no delivery problem any more.")
    carrier: str
    tracking_no: str


@dataclass(frozen=True)
class Handled:
    action: str  # customer_contacted | reship | return_opened
    actor: str
    at: str  # iso time
    result: str | None = None  # the replacement order, the RMA


def entity_key(shipment: Shipment) -> str:
    return f"{shipment.carrier} {shipment.tracking_no}"


async def _shipment(ctx: Context, shipment_id: int) -> tuple[Shipment, Order]:
    shipment = (await ctx.session.scalars(select(Shipment).where(Shipment.id == shipment_id).with_for_update())).one()
    order_no = await ctx.session.scalar(select(Order.order_no).where(Order.id == shipment.order_id))
    order = await load_order(ctx, order_no, for_update=True)
    await authorize(ctx, order, Permission.ORDER_EDIT)
    if shipment.status != ShipmentStatus.EXCEPTION:
        raise NotAnException(carrier=shipment.carrier, tracking_no=shipment.tracking_no)
    return shipment, order


async def handled(ctx: Context, shipment_id: int) -> Handled | None:
    """How this stay in exception was already handled, if it was (the latest entry into exception
    is the shipment's last ``track`` row to it; a handling row after it answers)."""
    shipment = await ctx.session.get(Shipment, shipment_id)
    if shipment is None:
        return None
    rows = await ctx.session.scalars(
        select(AuditRecord)
        .where(AuditRecord.entity == "shipment", AuditRecord.entity_key == entity_key(shipment))
        .where(AuditRecord.action.in_(("track", *HANDLING)))
        .order_by(AuditRecord.id.desc())
        .limit(20)
    )
    for row in rows:
        if row.action == "track":
            return None
        return Handled(row.action, row.actor, row.created_at.isoformat(), (row.data or {}).get("result"))
    return None


def _shipped_lines(shipment_lines: list[ShipmentLine], order: Order) -> list[tuple[OrderLine, int]]:
    by_id = {line.id: line for line in order.lines}
    return [(by_id[sl.order_line_id], sl.qty) for sl in shipment_lines if sl.order_line_id in by_id]


async def _lines(ctx: Context, shipment: Shipment, order: Order) -> list[tuple[OrderLine, int]]:
    rows = list(await ctx.session.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id)))
    return _shipped_lines(rows, order)


def _note(ctx: Context, shipment: Shipment, order: Order, action: str, result: str | None = None) -> None:
    audit(
        ctx,
        entity="shipment",
        key=entity_key(shipment),
        order_id=order.id,
        action=action,
        reason=shipment.exception_reason,
        result=result,
    )


async def customer_contacted(ctx: Context, shipment_id: int) -> Shipment:
    """Someone spoke to the customer about the problem: the order's history says who and when."""
    shipment, order = await _shipment(ctx, shipment_id)
    _note(ctx, shipment, order, "customer_contacted")
    return shipment


async def reship(ctx: Context, shipment_id: int) -> Order:
    """Send the parcel's goods again on a linked replacement order at no charge, as an exchange does."""
    shipment, order = await _shipment(ctx, shipment_id)
    lines = await _lines(ctx, shipment, order)
    draft = OrderDraft(
        customer=order.customer.code,
        lines=tuple(DraftLine(line.sku, qty) for line, qty in lines),
        ship_to=order.ship_to,
        channel=order.channel,
        payment_terms=PaymentTerms.PREPAID,
        note=f"reship of {entity_key(shipment)} for {order.order_no}",
        replaces=order.order_no,
        paid=True,
    )
    replacement = await place_order(ctx, draft)
    _note(ctx, shipment, order, "reship", replacement.order_no)
    return replacement


async def open_return(ctx: Context, shipment_id: int) -> str:
    """Open a return (refund) of the parcel's lines, for a parcel coming back or refused."""
    shipment, order = await _shipment(ctx, shipment_id)
    lines: dict[str, int] = {}
    for line, qty in await _lines(ctx, shipment, order):
        lines[line.sku] = lines.get(line.sku, 0) + qty
    reason = f"{entity_key(shipment)}: {shipment.exception_reason or 'problem'}"
    rma = await request_return(ctx, order.order_no, lines, reason)
    _note(ctx, shipment, order, "return_opened", rma.rma_no)
    return rma.rma_no


async def open_exceptions(ctx: Context, limit: int) -> list[Shipment]:
    """Shipments in exception now, the longest waiting first."""
    ctx.actor.require_any([Permission.ORDER_EDIT, Permission.REPORT_VIEW])
    stmt = select(Shipment).where(Shipment.status == ShipmentStatus.EXCEPTION).order_by(Shipment.updated_at)
    return list(await ctx.session.scalars(stmt.limit(limit)))
