"""Allocation as a dry run: what would happen to these orders if a warehouse were closed?

It plans every order against one shared, simulated shelf (earlier orders take stock first, as
they would for real) and reserves nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.auth import Permission
from core.context import Context
from core.inventory.allocation import open_warehouses
from core.inventory.demand import kit_recipes, line_needs, skus_by_id
from core.inventory.models import Reservation, ReservationStatus
from core.inventory.planning import Plan, WarehouseInfo, plan_allocation
from core.inventory.reservations import stock_matrix
from core.orders.models import Order
from core.orders.status import OrderStatus

# Orders whose stock is still to be decided: the ones a closure would affect.
UNDECIDED = (OrderStatus.CONFIRMED, OrderStatus.BACKORDERED, OrderStatus.PENDING_APPROVAL, OrderStatus.RECEIVED)


@dataclass(frozen=True)
class SimulatedOrder:
    order_no: str
    plan: Plan

    def to_dict(self) -> dict[str, object]:
        return {
            "order_no": self.order_no,
            "complete": self.plan.complete,
            "warehouses": list(self.plan.warehouses),
            "shortages": self.plan.shortages,
            "explanation": self.plan.explanation,
        }


async def simulate(
    ctx: Context, *, closed: Collection[str] = (), order_nos: Sequence[str] | None = None
) -> list[SimulatedOrder]:
    ctx.actor.require(Permission.STOCK_VIEW)
    stmt = select(Order).options(selectinload(Order.lines)).order_by(Order.created_at, Order.id)
    stmt = stmt.where(Order.order_no.in_(order_nos)) if order_nos else stmt.where(Order.status.in_(UNDECIDED))
    orders = list(await ctx.session.scalars(stmt))
    product_ids = {line.product_id for o in orders for line in o.lines if line.product_id}
    recipes = await kit_recipes(ctx.session, product_ids)
    needs = {
        o.id: line_needs([(ln.id, ln.product_id, ln.qty) for ln in o.lines if ln.product_id], recipes) for o in orders
    }
    stocked = {n.product_id for ns in needs.values() for n in ns}
    sku_of = await skus_by_id(ctx.session, stocked)
    warehouses = await open_warehouses(ctx)
    infos = [WarehouseInfo(w.code, w.name, w.lat, w.lon, w.priority, w.region) for w in warehouses]
    matrix = await stock_matrix(ctx, stocked)
    shelf = {(sku_of[pid], w.code): matrix.get((pid, w.id), 0) for pid in stocked for w in warehouses}
    # Units these orders already hold count as free: the question is how they would be allocated now.
    code_of = {w.id: w.code for w in warehouses}
    held = await ctx.session.execute(
        select(Reservation.product_id, Reservation.warehouse_id, func.sum(Reservation.qty))
        .where(Reservation.order_id.in_([o.id for o in orders]), Reservation.status == ReservationStatus.ACTIVE)
        .group_by(Reservation.product_id, Reservation.warehouse_id)
    )
    for product_id, warehouse_id, qty in held:
        if warehouse_id in code_of:
            shelf[(sku_of[product_id], code_of[warehouse_id])] += int(qty)
    results = []
    for order in orders:
        demand: dict[str, int] = defaultdict(int)
        for need in needs[order.id]:
            demand[sku_of[need.product_id]] += need.qty
        ship_to = order.ship_to or {}
        destination = (ship_to["lat"], ship_to["lon"]) if ship_to.get("lat") is not None else None
        plan = plan_allocation(
            dict(demand),
            shelf,
            infos,
            strategy=ctx.settings.allocation_strategy,
            policy=ctx.settings.shortage_policy,
            destination=destination,
            closed=closed,
        )
        for pick in plan.picks:
            shelf[(pick.sku, pick.warehouse)] -= pick.qty
        results.append(SimulatedOrder(order.order_no, plan))
    return results
