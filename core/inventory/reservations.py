"""Reserving, releasing and consuming stock with conditional updates: the no-overselling core.

Every change to ``stock_level`` is one UPDATE whose WHERE clause re-checks availability, so the
database, not Python, decides who gets the last unit. Rows are touched in a fixed order
(product id, warehouse id) so that two transactions never wait on each other in a cycle. The
CHECK constraints on ``stock_level`` are the last line of defence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.catalog.models import Product
from core.context import Context
from core.db.bulk_rows import insert_in_bulk
from core.events.catalogue import StockLow
from core.events.store import record
from core.inventory.demand import loaded_products
from core.inventory.models import MovementKind, StockLevel, StockMovement, Warehouse
from core.inventory.planning import WarehouseInfo

_FLAG_COLUMNS = ("sku", "name", "safety_stock", "below_safety")
insert_in_bulk(StockMovement)  # the ledger is append-only: one INSERT per flush for all its new rows
STOCK_ROWS = (StockLevel, Warehouse)
# The allocation's statements, built once: every order's allocation runs them, and building a
# statement and its cache key costs more than SQLite takes to run it.
_RESERVE = (
    update(StockLevel)
    .where(
        StockLevel.product_id == bindparam("product"),
        StockLevel.warehouse_id == bindparam("warehouse"),
        StockLevel.on_hand - StockLevel.reserved >= bindparam("units"),
    )
    .values(reserved=StockLevel.reserved + bindparam("units"))
    .execution_options(synchronize_session=False, autoflush=False)
)
_SITES = (
    select(
        StockLevel.product_id,
        StockLevel.warehouse_id,
        StockLevel.on_hand - StockLevel.reserved,
        Warehouse.code,
        Warehouse.name,
        Warehouse.lat,
        Warehouse.lon,
        Warehouse.priority,
        Warehouse.region,
    )
    .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
    .where(StockLevel.product_id.in_(bindparam("product_ids", expanding=True)), Warehouse.active.is_(True))
    .order_by(StockLevel.product_id, StockLevel.warehouse_id)
    .execution_options(autoflush=False)
)
_SITES_LOCKED = _SITES.with_for_update(of=StockLevel)


async def try_reserve(ctx: Context, product_id: int, warehouse_id: int, qty: int) -> bool:
    """Reserve ``qty`` units if (and only if) that many are available right now."""
    await _flush_stock_changes(ctx)
    result = await ctx.session.execute(_RESERVE, {"product": product_id, "warehouse": warehouse_id, "units": qty})
    return result.rowcount == 1


async def _flush_stock_changes(ctx: Context) -> None:
    """Flush first only if the session holds unwritten stock rows or warehouses.

    The stock reads and reservations of an allocation see only ``stock_level`` and ``warehouse``,
    so they skip the autoflush otherwise: the order's status walk, its audit rows and events are
    then written once, at the end, instead of at every statement of the allocation.
    """
    session = ctx.session
    if any(isinstance(row, STOCK_ROWS) for row in chain(session.new, session.dirty, session.deleted)):
        await session.flush()


async def unreserve(ctx: Context, product_id: int, warehouse_id: int, qty: int) -> None:
    await ctx.session.execute(
        update(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
        .values(reserved=StockLevel.reserved - qty)
        .execution_options(synchronize_session=False)
    )


async def ship_out(ctx: Context, product_id: int, warehouse_id: int, qty: int) -> None:
    """Goods leave: on hand and reserved both fall by the shipped units."""
    await ctx.session.execute(
        update(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
        .values(on_hand=StockLevel.on_hand - qty, reserved=StockLevel.reserved - qty)
        .execution_options(synchronize_session=False)
    )


async def change_on_hand(ctx: Context, product_id: int, warehouse_id: int, delta: int) -> bool:
    """Add (receipt) or remove (adjustment) units; refuses to take on hand below what is reserved."""
    stmt = (
        update(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
        .values(on_hand=StockLevel.on_hand + delta)
        .execution_options(synchronize_session=False)
    )
    if delta < 0:
        stmt = stmt.where(StockLevel.on_hand - StockLevel.reserved >= -delta)
    result = await ctx.session.execute(stmt)
    return result.rowcount == 1


def movement(
    ctx: Context,
    kind: MovementKind,
    product_id: int,
    warehouse_id: int,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    order_id: int | None = None,
    reason: str | None = None,
) -> None:
    ctx.session.add(
        StockMovement(
            product_id=product_id,
            warehouse_id=warehouse_id,
            kind=kind,
            on_hand_delta=on_hand,
            reserved_delta=reserved,
            order_id=order_id,
            actor=f"{ctx.actor.name} ({ctx.actor.source})",
            reason=reason,
            created_at=ctx.now(),
        )
    )


async def available_by_product(ctx: Context, product_ids: Iterable[int]) -> dict[int, int]:
    """Total available per product across active warehouses."""
    ids = sorted(set(product_ids))
    rows = await ctx.session.execute(
        select(StockLevel.product_id, func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.product_id.in_(ids), Warehouse.active.is_(True))
        .group_by(StockLevel.product_id)
    )
    found = {pid: int(total) for pid, total in rows}
    return {pid: found.get(pid, 0) for pid in ids}


async def check_safety_stock(
    ctx: Context, product_ids: Iterable[int], *, available: Mapping[int, int] | None = None
) -> None:
    """Record ``StockLow`` when a product's available total crosses below its safety stock.

    The ``below_safety`` flag is flipped with a conditional UPDATE, so one crossing yields one
    event even when many orders cross it at once; going back above re-arms the alert.
    ``available``: the totals per product, when the caller holds them (an allocation that read and
    locked the stock rows it reserved from), instead of summing the stock rows again.
    """
    ids = set(product_ids)
    loaded = loaded_products(ctx.session, ids, "safety_stock")
    ids = {pid for pid in ids if pid not in loaded or (loaded[pid].safety_stock or 0) > 0}
    if not ids:
        return  # none of them keeps a safety stock (as the products this transaction read say)
    # Only the products' own unwritten changes matter to this read: without them, the change in
    # progress (an order's status walk, its audit rows) is not flushed here but once, at its end.
    products_changed = any(isinstance(obj, Product) for obj in (*ctx.session.new, *ctx.session.dirty))
    held = loaded_products(ctx.session, ids, *_FLAG_COLUMNS)
    if _writer_alone(ctx) and not products_changed and set(held) == ids:
        rows = [(p.id, p.sku, p.name, p.safety_stock, p.below_safety) for _, p in sorted(held.items())]
        rows = [row for row in rows if (row[3] or 0) > 0]  # as the query's own condition
    else:
        rows = (
            await ctx.session.execute(
                select(Product.id, Product.sku, Product.name, Product.safety_stock, Product.below_safety)
                .where(Product.id.in_(sorted(ids)), Product.safety_stock > 0)
                .order_by(Product.id)
                .execution_options(autoflush=products_changed)
            )
        ).all()
    if not rows:
        return
    if available is not None and all(row[0] in available for row in rows):
        totals = dict(available)
    else:
        totals = await available_by_product(ctx, [row[0] for row in rows])
    for product_id, sku, name, safety, flagged in rows:
        available = totals[product_id]
        below = available < safety
        if below == flagged:
            continue  # no crossing as far as we can see; the conditional UPDATE decides races
        flipped = await ctx.session.execute(
            update(Product)
            .where(Product.id == product_id, Product.below_safety.is_(not below))
            .values(below_safety=below)
            .execution_options(synchronize_session=False)
        )
        if flipped.rowcount == 1 and product_id in held:  # what this transaction holds stays current
            set_committed_value(held[product_id], "below_safety", below)
        if below and flipped.rowcount == 1:
            record(ctx, StockLow(sku=sku, product=name, available=available, safety_stock=safety, at=ctx.now()))


def _writer_alone(ctx: Context) -> bool:
    """On SQLite a writing transaction holds the database's one write lock from its BEGIN, so
    what it read of a product is still what is committed (its own Core UPDATEs aside, kept current
    above); on PostgreSQL another transaction may flip the flag between this one's reads."""
    return ctx.session.bind.dialect.name == "sqlite"


async def stock_matrix(
    ctx: Context, product_ids: Iterable[int], *, lock: bool = False
) -> Mapping[tuple[int, int], int]:
    """{(product id, warehouse id): available} for the given products in active warehouses.

    With ``lock`` (PostgreSQL) the rows are locked in (product, warehouse) order before anyone
    plans on them, so the plan cannot be overtaken and every allocation locks in the same order.
    """
    stmt = (
        select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand - StockLevel.reserved)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.product_id.in_(sorted(set(product_ids))), Warehouse.active.is_(True))
        .order_by(StockLevel.product_id, StockLevel.warehouse_id)
    )
    if lock and ctx.session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=StockLevel)
    rows = await ctx.session.execute(stmt)
    matrix: dict[tuple[int, int], int] = defaultdict(int)
    for product_id, warehouse_id, available in rows:
        matrix[(product_id, warehouse_id)] = int(available)
    return matrix


@dataclass(frozen=True)
class StockSites:
    """Available units per (product id, warehouse id), and the active warehouses holding them."""

    available: Mapping[tuple[int, int], int]
    warehouses: Mapping[int, WarehouseInfo]  # by warehouse id


async def stock_sites(ctx: Context, product_ids: Iterable[int], *, lock: bool = False) -> StockSites:
    """``stock_matrix`` with the warehouses of its rows, in one query.

    A warehouse without a stock row for any of the products can ship none of them, so it plays no
    part in a plan (its rank among the others changes nothing); the planner sees the same picks,
    shortages and explanation without it. With ``lock`` (PostgreSQL) the rows are locked in
    (product, warehouse) order, as ``stock_matrix`` does.
    """
    await _flush_stock_changes(ctx)
    stmt = _SITES_LOCKED if lock and ctx.session.bind.dialect.name == "postgresql" else _SITES
    available: dict[tuple[int, int], int] = {}
    warehouses: dict[int, WarehouseInfo] = {}
    rows = await ctx.session.execute(stmt, {"product_ids": sorted(set(product_ids))})
    for product_id, warehouse_id, units, code, name, lat, lon, priority, region in rows:
        available[(product_id, warehouse_id)] = int(units)
        if warehouse_id not in warehouses:
            warehouses[warehouse_id] = WarehouseInfo(code, name, lat, lon, priority, region)
    return StockSites(available, warehouses)
