"""Allocating an order: plan with the pure planner, then reserve with conditional updates.

On PostgreSQL the candidate stock rows are locked (in product, warehouse order) before planning,
so the plan holds and the reservations succeed. On SQLite the transaction already holds the
database's write lock. The conditional UPDATE re-checks availability all the same; should one
ever lose (a future code path that plans without the lock), the attempt is undone and planned
again on fresh numbers, and each lost race means another order won those units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from core.context import Context
from core.db.bulk_rows import add_in_bulk
from core.errors import ChangedMeanwhile
from core.inventory.demand import LineNeed, kit_recipes, line_needs, skus_by_id
from core.inventory.models import MovementKind, Reservation, ReservationStatus, Warehouse
from core.inventory.planning import Plan, ShortagePolicy, Strategy, WarehouseInfo, plan_allocation
from core.inventory.reservations import check_safety_stock, movement, stock_sites, try_reserve, unreserve

MAX_ATTEMPTS = 100


@dataclass
class AllocationOutcome:
    plan: Plan
    reserved: dict[str, int] = field(default_factory=dict)  # sku -> units reserved by this call

    @property
    def shortages(self) -> dict[str, int]:
        return self.plan.shortages

    @property
    def complete(self) -> bool:
        return self.plan.complete


async def open_warehouses(ctx: Context) -> list[Warehouse]:
    rows = await ctx.session.scalars(select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.code))
    return list(rows)


async def outstanding_needs(
    ctx: Context, order_id: int, lines: Sequence[tuple[int, int, int]], *, fresh: bool = False
) -> list[LineNeed]:
    """What the order's lines still need: their needs less what is already reserved or shipped.

    ``fresh`` says the order has never been allocated, so there is nothing to subtract.
    """
    recipes = await kit_recipes(ctx.session, [product_id for _, product_id, _ in lines])
    held: dict[tuple[int, int], int] = defaultdict(int)
    rows = (
        []
        if fresh
        else await ctx.session.execute(
            select(Reservation.order_line_id, Reservation.product_id, func.sum(Reservation.qty))
            .where(Reservation.order_id == order_id, Reservation.status != ReservationStatus.RELEASED)
            .group_by(Reservation.order_line_id, Reservation.product_id)
        )
    )
    for line_id, product_id, qty in rows:
        held[(line_id, product_id)] = int(qty)
    needs = []
    for need in line_needs(lines, recipes):
        covered = min(need.qty, held[(need.line_id, need.product_id)])
        held[(need.line_id, need.product_id)] -= covered
        if need.qty > covered:
            needs.append(LineNeed(need.line_id, need.product_id, need.qty - covered))
    return needs


async def allocate_order(
    ctx: Context,
    order_id: int,
    lines: Sequence[tuple[int, int, int]],
    *,
    destination: tuple[float, float] | None,
    strategy: Strategy,
    policy: ShortagePolicy,
    closed: Collection[str] = (),
    fresh: bool = False,
) -> AllocationOutcome:
    """Reserve stock for ``lines`` ((line id, product id, qty)) of one order, or plan a backorder."""
    needs = await outstanding_needs(ctx, order_id, lines, fresh=fresh)
    demand_by_id: dict[int, int] = defaultdict(int)
    for need in needs:
        demand_by_id[need.product_id] += need.qty
    sku_of = await skus_by_id(ctx.session, demand_by_id)
    id_of = {sku: pid for pid, sku in sku_of.items()}
    demand = {sku_of[pid]: qty for pid, qty in demand_by_id.items()}
    # A dry run's closed warehouses are named in the plan's explanation, stock or not.
    everywhere = {w.id: _info(w) for w in await open_warehouses(ctx)} if closed else {}

    for _ in range(MAX_ATTEMPTS):
        stock = await stock_sites(ctx, demand_by_id, lock=True)
        sites = {**everywhere, **stock.warehouses}
        wh_id = {info.code: wid for wid, info in sites.items()}
        available = {(sku_of[pid], sites[wid].code): units for (pid, wid), units in stock.available.items()}
        plan = plan_allocation(
            demand,
            available,
            list(sites.values()),
            strategy=strategy,
            policy=policy,
            destination=destination,
            closed=closed,
        )
        picks = sorted(plan.picks, key=lambda p: (id_of[p.sku], wh_id[p.warehouse]))  # the fixed lock order
        taken = []
        for pick in picks:
            if not await try_reserve(ctx, id_of[pick.sku], wh_id[pick.warehouse], pick.qty):
                break
            taken.append(pick)
        else:
            _record_reservations(ctx, order_id, needs, [(id_of[p.sku], wh_id[p.warehouse], p.qty) for p in picks])
            if picks:
                left: dict[int, int] = defaultdict(int)  # what the stock rows read above hold now
                for (pid, _wid), units in stock.available.items():
                    left[pid] += units
                for pick in picks:
                    left[id_of[pick.sku]] -= pick.qty
                await check_safety_stock(ctx, {id_of[p.sku] for p in picks}, available=left)
            reserved: dict[str, int] = defaultdict(int)
            for pick in picks:
                reserved[pick.sku] += pick.qty
            return AllocationOutcome(plan, dict(reserved))
        for pick in reversed(taken):
            await unreserve(ctx, id_of[pick.sku], wh_id[pick.warehouse], pick.qty)
    raise ChangedMeanwhile(entity="stock")


def _info(warehouse: Warehouse) -> WarehouseInfo:
    w = warehouse
    return WarehouseInfo(w.code, w.name, w.lat, w.lon, w.priority, w.region)


def _record_reservations(ctx: Context, order_id: int, needs: list[LineNeed], picks: list[tuple[int, int, int]]) -> None:
    """Split each (product, warehouse, qty) pick across the lines that need that product, in line order."""
    remaining = [[need.line_id, need.product_id, need.qty] for need in needs]
    for product_id, warehouse_id, qty in picks:
        for slot in remaining:
            if qty == 0:
                break
            if slot[1] != product_id or slot[2] == 0:
                continue
            take = min(qty, slot[2])
            slot[2] -= take
            qty -= take
            add_in_bulk(  # with the flush's other new rows; read back only by query
                ctx.session,
                Reservation(
                    order_id=order_id,
                    order_line_id=slot[0],
                    product_id=product_id,
                    warehouse_id=warehouse_id,
                    qty=take,
                    status=ReservationStatus.ACTIVE,
                    created_at=ctx.now(),
                ),
            )
            movement(ctx, MovementKind.RESERVE, product_id, warehouse_id, reserved=take, order_id=order_id)


async def release_order(ctx: Context, order_id: int, reason: str) -> set[int]:
    """Give back every active reservation of the order; returns the products that got units back."""
    rows = list(
        await ctx.session.scalars(
            select(Reservation)
            .where(Reservation.order_id == order_id, Reservation.status == ReservationStatus.ACTIVE)
            .order_by(Reservation.product_id, Reservation.warehouse_id, Reservation.id)
        )
    )
    for reservation in rows:
        await unreserve(ctx, reservation.product_id, reservation.warehouse_id, reservation.qty)
        reservation.status = ReservationStatus.RELEASED
        movement(
            ctx,
            MovementKind.RELEASE,
            reservation.product_id,
            reservation.warehouse_id,
            reserved=-reservation.qty,
            order_id=order_id,
            reason=reason,
        )
    freed = {r.product_id for r in rows}
    if freed:
        await check_safety_stock(ctx, freed)
    return freed
