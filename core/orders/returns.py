"""Returns (RMA): requested → approved | rejected → received → inspected → refunded | exchanged → closed.

Restock happens only when inspection passes; the refund is the lines' share of what the customer
actually paid (order discounts included); an exchange creates a linked replacement order.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.errors import OrderLineNotFound, QuantityTooSmall, ReturnNotFound
from core.events.catalogue import ReturnRequested
from core.events.store import record
from core.inventory.demand import kit_recipes
from core.inventory.models import MovementKind
from core.inventory.reservations import change_on_hand, movement
from core.inventory.stock import ensure_level, warehouse_by_code
from core.orders.backorders import release_backorders
from core.orders.errors import (
    NotAnExchange,
    NotARefund,
    NothingLeftToReturn,
    NothingToReturn,
    NotReturnable,
    ReturnQuantityOutOfRange,
    UnknownResolution,
)
from core.orders.lifecycle import can, fire_return
from core.orders.models import Order, OrderLine, ReturnLine, ReturnRequest
from core.orders.numbering import next_number
from core.orders.payments import reduce_credit_invoice, refund
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.repository import authorize, load_order, order_by_id
from core.orders.status import OrderStatus, PaymentStatus, PaymentTerms, ReturnStatus
from core.rebates import ledger as rebate_ledger


async def request_return(
    ctx: Context, order_no: str, lines: dict[str, int], reason: str, resolution: str = "refund"
) -> ReturnRequest:
    if resolution not in ("refund", "exchange"):
        raise UnknownResolution(resolution=resolution)
    if not lines:
        raise NothingToReturn()
    order = await load_order(ctx, order_no, for_update=True)
    await authorize(ctx, order, Permission.RETURN_REQUEST)
    if not can(order, "request_return"):
        raise NotReturnable(order_no=order.order_no, state=OrderStatus(order.status))
    open_qty = await _pending_return_qty(ctx, order.id)
    by_sku = {line.sku: line for line in order.lines}
    rma_lines = []
    for sku, qty in lines.items():
        line = by_sku.get(sku.strip().upper())
        if line is None:
            raise OrderLineNotFound(order_no=order.order_no, sku=sku)
        returnable = line.shipped_qty - line.returned_qty - open_qty.get(line.id, 0)
        if qty <= 0:
            raise QuantityTooSmall(sku=line.sku, qty=qty)
        if returnable <= 0:
            raise NothingLeftToReturn(order_no=order.order_no, sku=line.sku)
        if qty > returnable:
            raise ReturnQuantityOutOfRange(sku=line.sku, qty=qty, returnable=returnable)
        rma_lines.append(ReturnLine(order_line_id=line.id, qty=qty))
    now = ctx.now()
    rma = ReturnRequest(
        rma_no=await next_number(ctx, "rma", "RMA"),
        order_id=order.id,
        status=ReturnStatus.REQUESTED,
        reason=reason,
        resolution=resolution,
        created_at=now,
        updated_at=now,
        lines=rma_lines,
    )
    ctx.session.add(rma)
    await ctx.session.flush()
    audit(
        ctx,
        entity="return",
        key=rma.rma_no,
        order_id=order.id,
        action="request",
        to_state=ReturnStatus.REQUESTED,
        reason=reason,
        lines={sku.upper(): qty for sku, qty in lines.items()},
        resolution=resolution,
    )
    record(ctx, ReturnRequested(rma_no=rma.rma_no, order_no=order.order_no, reason=reason, at=now))
    return rma


async def _pending_return_qty(ctx: Context, order_id: int) -> dict[int, int]:
    """Units already in a return that has not finished (so they cannot be returned twice)."""
    done = (ReturnStatus.REJECTED, ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED, ReturnStatus.CLOSED)
    rows = await ctx.session.execute(
        select(ReturnLine.order_line_id, ReturnLine.qty)
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.order_id == order_id, ReturnRequest.status.not_in(done))
    )
    pending: dict[int, int] = {}
    for line_id, qty in rows:
        pending[line_id] = pending.get(line_id, 0) + qty
    return pending


async def _acting_on_return(ctx: Context, rma_no: str, permission: Permission) -> tuple[ReturnRequest, Order]:
    rma = (
        await ctx.session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.rma_no == rma_no.strip().upper())
            .options(selectinload(ReturnRequest.lines))
            .with_for_update(of=ReturnRequest)
        )
    ).one_or_none()
    if rma is None:
        raise ReturnNotFound(rma_no=rma_no)
    order = await order_by_id(ctx, rma.order_id)
    await authorize(ctx, order, permission)
    return rma, order


async def _step(
    ctx: Context, rma: ReturnRequest, order: Order, trigger: str, reason: str | None = None, **data: object
) -> None:
    before, after = fire_return(rma, trigger)
    rma.updated_at = ctx.now()
    audit(
        ctx,
        entity="return",
        key=rma.rma_no,
        order_id=order.id,
        action=trigger,
        from_state=before,
        to_state=after,
        reason=reason,
        **data,
    )
    await ctx.session.flush()


async def approve_return(ctx: Context, rma_no: str) -> ReturnRequest:
    rma, order = await _acting_on_return(ctx, rma_no, Permission.RETURN_MANAGE)
    await _step(ctx, rma, order, "approve")
    return rma


async def reject_return(ctx: Context, rma_no: str, reason: str) -> ReturnRequest:
    rma, order = await _acting_on_return(ctx, rma_no, Permission.RETURN_MANAGE)
    await _step(ctx, rma, order, "reject", reason=reason)
    return rma


async def receive_return(ctx: Context, rma_no: str, warehouse: str) -> ReturnRequest:
    rma, order = await _acting_on_return(ctx, rma_no, Permission.RETURN_MANAGE)
    wh = await warehouse_by_code(ctx, warehouse)
    ctx.actor.require_warehouses({wh.code}, Permission.RETURN_MANAGE)
    rma.received_warehouse_id = wh.id
    await _step(ctx, rma, order, "receive", warehouse=wh.code)
    return rma


async def inspect_return(ctx: Context, rma_no: str, *, passed: bool, note: str | None = None) -> ReturnRequest:
    """Passed goods go back on the shelf of the warehouse that received them."""
    rma, order = await _acting_on_return(ctx, rma_no, Permission.RETURN_MANAGE)
    rma.inspection_passed = passed
    await _step(ctx, rma, order, "inspect", reason=note, passed=passed)
    if passed:
        restocked = await _restock(ctx, rma, order)
        await release_backorders(ctx, restocked)
    return rma


async def _restock(ctx: Context, rma: ReturnRequest, order: Order) -> set[int]:
    lines = {line.id: line for line in order.lines}
    recipes = await kit_recipes(ctx.session, [lines[rl.order_line_id].product_id for rl in rma.lines])
    restocked: set[int] = set()
    for rl in rma.lines:
        product_id = lines[rl.order_line_id].product_id
        for component, per in recipes.get(product_id, [(product_id, 1)]):
            await ensure_level(ctx, component, rma.received_warehouse_id)
            await change_on_hand(ctx, component, rma.received_warehouse_id, rl.qty * per)
            movement(
                ctx,
                MovementKind.RESTOCK,
                component,
                rma.received_warehouse_id,
                on_hand=rl.qty * per,
                order_id=order.id,
                reason=f"{rma.rma_no} passed inspection",
            )
            restocked.add(component)
    return restocked


def return_value(rma: ReturnRequest, order: Order) -> Decimal:
    """The returned lines' share of the order total, so discounts are refunded in proportion."""
    lines = {line.id: line for line in order.lines}
    gross = sum((lines[rl.order_line_id].unit_price * rl.qty for rl in rma.lines), Decimal("0"))
    if order.subtotal == 0:
        return Decimal("0.00")
    return (gross * order.total / order.subtotal).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def refund_return(ctx: Context, rma_no: str) -> ReturnRequest:
    rma, order = await _acting_on_return(ctx, rma_no, Permission.REFUND)
    if rma.resolution != "refund":
        raise NotARefund(rma_no=rma.rma_no)
    amount = return_value(rma, order)
    await _step(ctx, rma, order, "refund", amount=str(amount))
    _mark_returned(rma, order)
    if order.payment_status == PaymentStatus.UNPAID and order.payment_terms == PaymentTerms.CREDIT:
        await reduce_credit_invoice(ctx, order, amount)
        rma.refund_amount = amount
    else:
        rma.refund_amount = refund(ctx, order, amount, f"{rma.rma_no}")
    await rebate_ledger.reverse(ctx, rma, order)  # refunded goods no longer count toward a rebate
    return rma


def _mark_returned(rma: ReturnRequest, order: Order) -> None:
    lines = {line.id: line for line in order.lines}
    for rl in rma.lines:
        lines[rl.order_line_id].returned_qty += rl.qty


async def exchange_return(ctx: Context, rma_no: str) -> tuple[ReturnRequest, Order]:
    """Send the same goods again on a linked, zero-priced replacement order."""
    rma, order = await _acting_on_return(ctx, rma_no, Permission.RETURN_MANAGE)
    if rma.resolution != "exchange":
        raise NotAnExchange(rma_no=rma.rma_no)
    await _step(ctx, rma, order, "exchange")
    _mark_returned(rma, order)
    lines: dict[int, OrderLine] = {line.id: line for line in order.lines}
    draft = OrderDraft(
        customer=order.customer.code,
        lines=tuple(DraftLine(lines[rl.order_line_id].sku, rl.qty) for rl in rma.lines),
        ship_to=order.ship_to,
        channel=order.channel,
        payment_terms=PaymentTerms.PREPAID,
        note=f"replacement for {order.order_no} ({rma.rma_no})",
        replaces=order.order_no,
        paid=True,
    )
    replacement = await place_order(ctx, draft)
    rma.replacement_order_id = replacement.id
    return rma, replacement


async def close_return(ctx: Context, rma_no: str) -> ReturnRequest:
    rma, order = await _acting_on_return(ctx, rma_no, Permission.RETURN_MANAGE)
    await _step(ctx, rma, order, "close")
    return rma
