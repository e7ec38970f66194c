"""Stock arrives: backordered orders are served first-in, first-out.

An order that still cannot be served blocks the SKUs it waits for, so a later, smaller order
for the same SKU never jumps the queue; orders for other SKUs go ahead.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from core.catalog.models import KitComponent
from core.context import Context
from core.inventory.demand import kit_recipes
from core.inventory.models import MovementKind
from core.inventory.stock import move_stock
from core.orders.confirmation import allocate
from core.orders.models import Order, OrderLine
from core.orders.repository import select_orders
from core.orders.status import OrderStatus
from core.production import planning as production

# Orders that can take more stock: waiting entirely, or allocated in part (partial policy).
_TOP_UP = (OrderStatus.ALLOCATED, OrderStatus.AWAITING_PAYMENT, OrderStatus.READY_TO_PICK)


async def receive(ctx: Context, sku: str, warehouse: str, qty: int, reason: str | None = None) -> list[str]:
    """Book a receipt and serve the queue; returns the order numbers that got stock."""
    product = await move_stock(ctx, sku, warehouse, qty, kind=MovementKind.RECEIPT, reason=reason)
    return await release_backorders(ctx, {product.id})


async def adjust(ctx: Context, sku: str, warehouse: str, delta: int, reason: str) -> list[str]:
    product = await move_stock(ctx, sku, warehouse, delta, kind=MovementKind.ADJUSTMENT, reason=reason)
    return await release_backorders(ctx, {product.id}) if delta > 0 else []


async def release_backorders(ctx: Context, product_ids: Collection[int]) -> list[str]:
    # Work orders waiting for these as materials come first: they were planned for older orders.
    await production.replenish(ctx, product_ids)
    served: list[str] = []
    blocked: set[int] = set()
    for order in await _waiting(ctx, product_ids):
        needs = await _component_ids(ctx, order)
        if needs & blocked:
            continue
        if await allocate(ctx, order):
            served.append(order.order_no)
        if order.allocation_plan.get("shortages"):
            blocked |= needs
    return served


async def _waiting(ctx: Context, product_ids: Collection[int]) -> list[Order]:
    """Orders short of any of these products (directly or through a kit), oldest first, locked.

    ``SKIP LOCKED`` lets two receipts on PostgreSQL serve different orders instead of queueing
    behind each other; an order skipped now is served by the receipt that holds it.
    """
    kits = select(KitComponent.kit_id).where(KitComponent.component_id.in_(list(product_ids)))
    wanted = select(OrderLine.order_id).where(
        (OrderLine.product_id.in_(list(product_ids))) | (OrderLine.product_id.in_(kits))
    )
    stmt = (
        select_orders()
        .where(Order.id.in_(wanted), Order.status.in_((OrderStatus.BACKORDERED, *_TOP_UP)))
        .order_by(Order.created_at, Order.id)
        .with_for_update(of=Order, skip_locked=True)
    )
    orders = list(await ctx.session.scalars(stmt))
    return [o for o in orders if o.status == OrderStatus.BACKORDERED or o.allocation_plan.get("shortages")]


async def _component_ids(ctx: Context, order: Order) -> set[int]:
    ids = {line.product_id for line in order.lines if line.product_id is not None}
    recipes = await kit_recipes(ctx.session, ids)
    for kit_id, parts in recipes.items():
        ids.discard(kit_id)
        ids.update(component for component, _ in parts)
    return ids
