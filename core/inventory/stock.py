"""Goods in and stock corrections as audited movements, and the stock view per warehouse."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit.record import audit
from core.auth import Permission
from core.catalog.models import KitComponent, Product
from core.catalog.search import nearest_sku
from core.context import Context
from core.errors import QuantityTooLarge, WarehouseNotFound, unknown_sku
from core.inventory.errors import AdjustmentOfZero, KitNotStocked, NotEnoughOnHand, ReceiptTooSmall
from core.inventory.models import MovementKind, StockLevel, Warehouse
from core.inventory.reservations import change_on_hand, check_safety_stock, movement


async def product_by_sku(ctx: Context, sku: str) -> Product:
    product = (await ctx.session.scalars(select(Product).where(Product.sku == sku.strip().upper()))).one_or_none()
    if product is None:
        known = set(await ctx.session.scalars(select(Product.sku)))
        raise unknown_sku(sku.strip().upper(), nearest_sku(sku, known))
    return product


async def warehouse_by_code(ctx: Context, code: str) -> Warehouse:
    warehouse = (
        await ctx.session.scalars(select(Warehouse).where(Warehouse.code == code.strip().upper()))
    ).one_or_none()
    if warehouse is None:
        raise WarehouseNotFound(warehouse=code.strip().upper())
    return warehouse


async def ensure_level(ctx: Context, product_id: int, warehouse_id: int) -> None:
    """Create the stock row if it is missing (a SKU's first receipt in a warehouse)."""
    exists = await ctx.session.scalar(
        select(StockLevel.id).where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
    )
    if exists is None:
        try:
            async with ctx.session.begin_nested():
                ctx.session.add(StockLevel(product_id=product_id, warehouse_id=warehouse_id, on_hand=0, reserved=0))
        except IntegrityError:
            pass  # created by a concurrent receipt


async def move_stock(
    ctx: Context, sku: str, warehouse_code: str, delta: int, *, kind: MovementKind, reason: str | None
) -> Product:
    """Receive (positive) or adjust (either sign) the units on hand in one warehouse."""
    product = await product_by_sku(ctx, sku)
    if product.is_kit:
        raise KitNotStocked(sku=product.sku)
    warehouse = await warehouse_by_code(ctx, warehouse_code)
    ctx.actor.require_warehouses({warehouse.code}, Permission.STOCK_MOVE)
    if abs(delta) > ctx.settings.max_line_qty:
        raise QuantityTooLarge(sku=product.sku, limit=ctx.settings.max_line_qty)
    if kind == MovementKind.RECEIPT and delta <= 0:
        raise ReceiptTooSmall(qty=delta)
    if delta == 0:
        raise AdjustmentOfZero()
    await ensure_level(ctx, product.id, warehouse.id)
    if not await change_on_hand(ctx, product.id, warehouse.id, delta):
        level = await _level(ctx, product.id, warehouse.id)
        raise NotEnoughOnHand(
            sku=product.sku,
            warehouse=warehouse.code,
            qty=-delta,
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.available,
        )
    movement(ctx, kind, product.id, warehouse.id, on_hand=delta, reason=reason)
    audit(ctx, entity="stock", key=f"{product.sku}@{warehouse.code}", action=kind.value, reason=reason, delta=delta)
    await check_safety_stock(ctx, {product.id})
    return product


async def _level(ctx: Context, product_id: int, warehouse_id: int) -> StockLevel:
    return (
        await ctx.session.scalars(
            select(StockLevel)
            .where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
            .execution_options(populate_existing=True)
        )
    ).one()


@dataclass(frozen=True)
class WarehouseStock:
    warehouse: str
    name: str
    on_hand: int
    reserved: int
    available: int

    def to_dict(self) -> dict[str, object]:
        return {
            "warehouse": self.warehouse,
            "name": self.name,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "available": self.available,
        }


async def stock_view(ctx: Context, sku: str) -> dict[str, object]:
    """Per-warehouse stock of a SKU; for a kit, what its components allow, warehouse by warehouse."""
    ctx.actor.require(Permission.STOCK_VIEW)
    product = await product_by_sku(ctx, sku)
    warehouses = list(
        await ctx.session.scalars(select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.code))
    )
    if product.is_kit:
        rows = await _kit_rows(ctx, product, warehouses)
    else:
        levels = {
            lvl.warehouse_id: lvl
            for lvl in await ctx.session.scalars(select(StockLevel).where(StockLevel.product_id == product.id))
        }
        rows = [
            WarehouseStock(
                w.code,
                w.name,
                levels[w.id].on_hand if w.id in levels else 0,
                levels[w.id].reserved if w.id in levels else 0,
                levels[w.id].available if w.id in levels else 0,
            )
            for w in warehouses
        ]
    if ctx.actor.only_own_warehouses:
        rows = [r for r in rows if r.warehouse in ctx.actor.warehouses]
    return {
        "sku": product.sku,
        "name": product.name,
        "kit": product.is_kit,
        "safety_stock": product.safety_stock,
        "warehouses": [r.to_dict() for r in rows],
        "total": {
            "on_hand": sum(r.on_hand for r in rows),
            "reserved": sum(r.reserved for r in rows),
            "available": sum(r.available for r in rows),
        },
    }


async def _kit_rows(ctx: Context, kit: Product, warehouses: list[Warehouse]) -> list[WarehouseStock]:
    """A kit's stock is derived: in each warehouse, the number of whole kits its components make."""
    recipe = list(
        (
            await ctx.session.execute(
                select(KitComponent.component_id, KitComponent.qty).where(KitComponent.kit_id == kit.id)
            )
        ).all()
    )
    levels = {
        (lvl.product_id, lvl.warehouse_id): lvl
        for lvl in await ctx.session.scalars(
            select(StockLevel).where(StockLevel.product_id.in_([c for c, _ in recipe]))
        )
    }

    def whole_kits(warehouse_id: int, attr: str) -> int:
        counts = [
            getattr(levels[(c, warehouse_id)], attr) // per if (c, warehouse_id) in levels else 0 for c, per in recipe
        ]
        return min(counts) if counts else 0

    rows = []
    for w in warehouses:
        on_hand, available = whole_kits(w.id, "on_hand"), whole_kits(w.id, "available")
        rows.append(WarehouseStock(w.code, w.name, on_hand, on_hand - available, available))
    return rows
