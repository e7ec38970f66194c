"""Logging what a project consumes at its cost: hours at the master data's labour rate, and
materials at the product's cost, taken out of a warehouse's stock as a recorded movement."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.contracts.errors import NoCostForProduct, NotEnoughForProject, UnknownLabourRate
from core.contracts.models import CostKind, LabourRate, ProjectCost
from core.contracts.service import _contract, _running
from core.contracts.terms import CENT
from core.errors import QuantityTooLarge, QuantityTooSmall
from core.inventory.errors import KitNotStocked
from core.inventory.models import MovementKind, StockLevel, Warehouse
from core.inventory.reservations import change_on_hand, check_safety_stock, movement
from core.inventory.stock import product_by_sku, warehouse_by_code


def _cost(qty: Decimal, unit_cost: Decimal) -> Decimal:
    return (qty * unit_cost).quantize(CENT, rounding=ROUND_HALF_UP)


async def log_labour(ctx: Context, order_no: str, worker: str, hours: Decimal) -> ProjectCost:
    """Hours of a person (or a role) on the project, at their rate from ``labour_rates:``."""
    order = await _contract(ctx, order_no, Permission.ORDER_EDIT)
    _running(order)
    name = worker.strip()
    rate = (await ctx.session.scalars(select(LabourRate).where(LabourRate.name == name))).one_or_none()
    if rate is None:
        known = list(await ctx.session.scalars(select(LabourRate.name).order_by(LabourRate.name)))
        raise UnknownLabourRate(worker=name, known=", ".join(known) or "-")
    cost = ProjectCost(
        order_id=order.id,
        kind=CostKind.LABOUR,
        description=name,
        qty=hours,
        unit_cost=rate.rate,
        amount=_cost(hours, rate.rate),
        actor=ctx.actor.name,
        created_at=ctx.now(),
    )
    ctx.session.add(cost)
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="log_labour",
        reason=f"{name} {hours}h",
        amount=str(cost.amount),
    )
    await ctx.session.flush()
    return cost


async def log_material(ctx: Context, order_no: str, sku: str, qty: int, *, warehouse: str | None = None) -> ProjectCost:
    """Units of a product used on the project, at its cost, out of ``warehouse`` (or the first
    warehouse, by priority, with that many free)."""
    order = await _contract(ctx, order_no, Permission.ORDER_EDIT)
    _running(order)
    product = await product_by_sku(ctx, sku)
    if qty <= 0:
        raise QuantityTooSmall(sku=product.sku, qty=qty)
    if qty > ctx.settings.max_line_qty:
        raise QuantityTooLarge(sku=product.sku, limit=ctx.settings.max_line_qty)
    if product.is_kit:
        raise KitNotStocked(sku=product.sku)
    if product.cost is None:
        raise NoCostForProduct(sku=product.sku)
    source = await _source(ctx, product.id, product.sku, qty, warehouse)
    ctx.actor.require_warehouses({source.code}, Permission.ORDER_EDIT)
    if not await change_on_hand(ctx, product.id, source.id, -qty):  # taken meanwhile
        raise NotEnoughForProject(sku=product.sku, qty=qty, available=0, warehouse=source.code)
    reason = f"{order.order_no} project {order.project_name}"
    movement(ctx, MovementKind.CONSUME, product.id, source.id, on_hand=-qty, order_id=order.id, reason=reason)
    cost = ProjectCost(
        order_id=order.id,
        kind=CostKind.MATERIAL,
        description=product.name,
        product_id=product.id,
        warehouse_id=source.id,
        qty=Decimal(qty),
        unit_cost=product.cost,
        amount=_cost(Decimal(qty), product.cost),
        actor=ctx.actor.name,
        created_at=ctx.now(),
    )
    ctx.session.add(cost)
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="log_material",
        reason=f"{product.sku}×{qty} from {source.code}",
        amount=str(cost.amount),
    )
    await check_safety_stock(ctx, {product.id})
    await ctx.session.flush()
    return cost


async def _source(ctx: Context, product_id: int, sku: str, qty: int, code: str | None) -> Warehouse:
    levels = select(Warehouse, StockLevel.on_hand - StockLevel.reserved).join(
        StockLevel, StockLevel.warehouse_id == Warehouse.id
    )
    levels = levels.where(StockLevel.product_id == product_id, Warehouse.active.is_(True))
    if code is not None:
        chosen = await warehouse_by_code(ctx, code)
        free = await ctx.session.scalar(
            select(StockLevel.on_hand - StockLevel.reserved).where(
                StockLevel.product_id == product_id, StockLevel.warehouse_id == chosen.id
            )
        )
        if (free or 0) < qty:
            raise NotEnoughForProject(sku=sku, qty=qty, available=int(free or 0), warehouse=chosen.code)
        return chosen
    rows = list(await ctx.session.execute(levels.order_by(Warehouse.priority, Warehouse.code)))
    for warehouse, free in rows:
        if free >= qty:
            return warehouse
    best = max(rows, key=lambda row: row[1], default=None)
    raise NotEnoughForProject(
        sku=sku, qty=qty, available=int(best[1]) if best else 0, warehouse=best[0].code if best else "-"
    )
