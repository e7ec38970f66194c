"""From an order's make-to-order shortage to work orders, their materials and purchase requests.

``plan_for_order`` runs whenever the order is allocated (confirmation, a receipt serving it): it
keeps one open work order per order and make-to-order product at the units still missing, so a
new shortage plans one, a changed one adjusts it (materials re-planned, purchase requests follow)
and a shortage gone cancels it. ``cancel_for_order`` unwinds them when the order is cancelled.
``replenish`` tops up short materials when stock arrives, oldest work order first.

Material reservations are held on ``stock_level.reserved`` like an order's, with conditional
UPDATEs (``core.inventory.reservations``), in (product, warehouse) order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.audit.record import audit
from core.catalog.models import Product
from core.context import Context
from core.events.catalogue import WorkOrderAdjusted, WorkOrderCancelled, WorkOrderMaterialsReady, WorkOrderPlanned
from core.events.store import record
from core.inventory.allocation import open_warehouses
from core.inventory.demand import loaded_products, skus_by_id
from core.inventory.models import MovementKind, PurchaseRequest, PurchaseRequestStatus
from core.inventory.reservations import check_safety_stock, movement, stock_matrix, try_reserve, unreserve
from core.orders.models import Order
from core.orders.numbering import next_number
from core.production.bom import Boms, explode
from core.production.lifecycle import ADJUSTABLE, OPEN, fire
from core.production.models import (
    BomComponent,
    WorkOrder,
    WorkOrderMaterial,
    WorkOrderReservation,
    WorkOrderReservationStatus,
    WorkOrderStatus,
)

PREFIX = "MO"


def select_work_orders() -> Any:
    return select(WorkOrder).options(selectinload(WorkOrder.materials))


async def make_to_order_products(ctx: Context, order: Order) -> dict[int, str]:
    """{product id: SKU} of the order's lines whose product is made to order."""
    ids = {line.product_id for line in order.lines if line.product_id is not None}
    if not ids:
        return {}
    loaded = loaded_products(ctx.session, ids, "make_to_order", "sku")
    if len(loaded) == len(ids):  # a placement read its products already
        return {pid: product.sku for pid, product in loaded.items() if product.make_to_order}
    rows = await ctx.session.execute(
        select(Product.id, Product.sku).where(Product.id.in_(ids), Product.make_to_order.is_(True))
    )
    return dict(rows.all())


async def load_boms(ctx: Context, roots: Iterable[int]) -> Boms:
    """The bills of materials under ``roots``, every level (one query per level)."""
    boms: dict[int, list[tuple[int, Any, Any]]] = {}
    frontier = set(roots)
    while frontier:
        rows = (
            await ctx.session.execute(
                select(BomComponent.product_id, BomComponent.component_id, BomComponent.qty, BomComponent.scrap_rate)
                .where(BomComponent.product_id.in_(frontier))
                .order_by(BomComponent.product_id, BomComponent.component_id)
            )
        ).all()
        found: dict[int, list[tuple[int, Any, Any]]] = defaultdict(list)
        for parent, component, qty, scrap in rows:
            found[parent].append((component, qty, scrap))
        boms.update(found)
        frontier = {component for parts in found.values() for component, _, _ in parts} - set(boms)
    return boms


async def change_work_order(
    ctx: Context, work_order: WorkOrder, trigger: str, order: Order, *, reason: str | None = None, **data: Any
) -> tuple[WorkOrderStatus, WorkOrderStatus]:
    """Every work-order move goes through here: fire the transition and write the audit row."""
    before, after = fire(work_order, trigger)
    work_order.updated_at = ctx.now()
    audit(
        ctx,
        entity="work_order",
        key=work_order.mo_no,
        order_id=order.id,
        action=trigger,
        from_state=before,
        to_state=after,
        reason=reason,
        **data,
    )
    return before, after


async def open_work_orders(ctx: Context, order_id: int) -> list[WorkOrder]:
    stmt = (
        select_work_orders()
        .where(WorkOrder.order_id == order_id, WorkOrder.status.in_(OPEN))
        .order_by(WorkOrder.id)
        .with_for_update(of=WorkOrder)
    )
    return list(await ctx.session.scalars(stmt))


async def plan_for_order(ctx: Context, order: Order, shortages: dict[str, int], products: dict[int, str]) -> None:
    """Keep the order's open work orders at its make-to-order shortage (``shortages``: SKU → units)."""
    existing = {wo.product_id: wo for wo in await open_work_orders(ctx, order.id)}
    for product_id, sku in sorted(products.items()):
        want = shortages.get(sku, 0)
        work_order = existing.get(product_id)
        if work_order is None:
            if want > 0:
                await _plan(ctx, order, product_id, sku, want)
            continue
        if want == work_order.qty or work_order.status not in ADJUSTABLE:
            continue  # in progress: what is being made is made; any surplus goes to stock
        if want == 0:
            await cancel_work_order(ctx, work_order, order, f"{order.order_no} no longer needs it")
        else:
            await _adjust(ctx, work_order, order, sku, want)


async def _plan(ctx: Context, order: Order, product_id: int, sku: str, qty: int) -> WorkOrder:
    warehouses = await open_warehouses(ctx)
    home = min(warehouses, key=lambda w: (w.priority, w.code))
    line = next(line for line in order.lines if line.product_id == product_id)
    now = ctx.now()
    work_order = WorkOrder(
        mo_no=await next_number(ctx, "work_order", PREFIX),
        order_id=order.id,
        order_line_id=line.id,
        product_id=product_id,
        warehouse_id=home.id,
        qty=qty,
        status=WorkOrderStatus.PLANNED,
        materials=[],
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(work_order)
    await ctx.session.flush()
    short = await _explode_and_reserve(ctx, work_order, order)
    audit(
        ctx,
        entity="work_order",
        key=work_order.mo_no,
        order_id=order.id,
        action="plan",
        to_state=WorkOrderStatus.PLANNED,
        reason=f"{order.order_no} is short of {qty} {sku}",
    )
    record(
        ctx,
        WorkOrderPlanned(
            mo_no=work_order.mo_no,
            order_no=order.order_no,
            sku=sku,
            qty=qty,
            warehouse=home.code,
            materials=await _by_sku(ctx, {m.product_id: m.required for m in work_order.materials}),
            short=short,
            at=now,
        ),
    )
    return work_order


async def _adjust(ctx: Context, work_order: WorkOrder, order: Order, sku: str, qty: int) -> None:
    before = work_order.qty
    await change_work_order(ctx, work_order, "adjust", order, reason=f"{before} → {qty}", qty=[before, qty])
    await release_materials(ctx, work_order, f"{work_order.mo_no} re-planned")
    await cancel_purchases(ctx, work_order)
    work_order.qty = qty
    work_order.materials.clear()
    await ctx.session.flush()
    short = await _explode_and_reserve(ctx, work_order, order)
    record(
        ctx,
        WorkOrderAdjusted(
            mo_no=work_order.mo_no,
            order_no=order.order_no,
            sku=sku,
            from_qty=before,
            qty=qty,
            short=short,
            at=ctx.now(),
        ),
    )


async def _explode_and_reserve(ctx: Context, work_order: WorkOrder, order: Order) -> dict[str, int]:
    """Materials for the work order's quantity: reserve what is on hand, request the rest; returns
    the short units per SKU."""
    boms = await load_boms(ctx, [work_order.product_id])
    if not boms:
        return {}  # nothing known to draw: the lead makes it (or buys it) as they see fit
    components = {c for parts in boms.values() for c, _, _ in parts}
    matrix = await stock_matrix(ctx, components, lock=True)
    available: dict[int, int] = defaultdict(int)
    for (product_id, _), units in matrix.items():
        available[product_id] += units
    needs = explode(work_order.product_id, work_order.qty, boms, available)
    for need in needs:
        work_order.materials.append(
            WorkOrderMaterial(product_id=need.product_id, required=need.required, reserved=0, made=need.made)
        )
    await ctx.session.flush()
    await _reserve(ctx, work_order, order.id, {m.product_id: m.required for m in work_order.materials})
    short = {m.product_id: m.required - m.reserved for m in work_order.materials if m.required > m.reserved}
    for product_id, qty in sorted(short.items()):
        ctx.session.add(
            PurchaseRequest(
                product_id=product_id, order_id=order.id, work_order_id=work_order.id, qty=qty, created_at=ctx.now()
            )
        )
    return await _by_sku(ctx, short)


async def _reserve(ctx: Context, work_order: WorkOrder, order_id: int, wanted: dict[int, int]) -> dict[int, int]:
    """Reserve up to ``wanted`` units per material, warehouse by warehouse (priority order); returns
    what was reserved per product."""
    wanted = {pid: qty for pid, qty in wanted.items() if qty > 0}
    if not wanted:
        return {}
    warehouses = sorted(await open_warehouses(ctx), key=lambda w: (w.priority, w.code))
    matrix = await stock_matrix(ctx, wanted, lock=True)
    materials = {m.product_id: m for m in work_order.materials}
    picks: list[tuple[int, int, int]] = []
    for product_id, qty in wanted.items():
        for warehouse in warehouses:
            if qty == 0:
                break
            take = min(qty, matrix.get((product_id, warehouse.id), 0))
            if take > 0:
                picks.append((product_id, warehouse.id, take))
                qty -= take
    taken: dict[int, int] = defaultdict(int)
    for product_id, warehouse_id, qty in sorted(picks):  # the fixed lock order
        if not await try_reserve(ctx, product_id, warehouse_id, qty):
            continue  # lost to a concurrent reservation: left short, a purchase request covers it
        ctx.session.add(
            WorkOrderReservation(
                work_order_id=work_order.id,
                product_id=product_id,
                warehouse_id=warehouse_id,
                qty=qty,
                status=WorkOrderReservationStatus.ACTIVE,
                created_at=ctx.now(),
            )
        )
        movement(
            ctx,
            MovementKind.RESERVE,
            product_id,
            warehouse_id,
            reserved=qty,
            order_id=order_id,
            reason=f"{work_order.mo_no} material",
        )
        materials[product_id].reserved += qty
        taken[product_id] += qty
    if taken:
        await check_safety_stock(ctx, set(taken))
    return dict(taken)


async def active_reservations(ctx: Context, work_order_id: int) -> list[WorkOrderReservation]:
    return list(
        await ctx.session.scalars(
            select(WorkOrderReservation)
            .where(
                WorkOrderReservation.work_order_id == work_order_id,
                WorkOrderReservation.status == WorkOrderReservationStatus.ACTIVE,
            )
            .order_by(WorkOrderReservation.product_id, WorkOrderReservation.warehouse_id, WorkOrderReservation.id)
        )
    )


async def release_materials(ctx: Context, work_order: WorkOrder, reason: str) -> set[int]:
    """Give back the work order's material reservations; returns the products that got units back."""
    rows = await active_reservations(ctx, work_order.id)
    for reservation in rows:
        await unreserve(ctx, reservation.product_id, reservation.warehouse_id, reservation.qty)
        reservation.status = WorkOrderReservationStatus.RELEASED
        movement(
            ctx,
            MovementKind.RELEASE,
            reservation.product_id,
            reservation.warehouse_id,
            reserved=-reservation.qty,
            order_id=work_order.order_id,
            reason=reason,
        )
    for material in work_order.materials:
        material.reserved = 0
    freed = {r.product_id for r in rows}
    if freed:
        await check_safety_stock(ctx, freed)
    return freed


async def cancel_purchases(ctx: Context, work_order: WorkOrder) -> int:
    rows = list(
        await ctx.session.scalars(
            select(PurchaseRequest).where(
                PurchaseRequest.work_order_id == work_order.id,
                PurchaseRequest.status == PurchaseRequestStatus.OPEN,
            )
        )
    )
    for request in rows:
        request.status = PurchaseRequestStatus.CANCELLED
    return len(rows)


async def cancel_work_order(ctx: Context, work_order: WorkOrder, order: Order, reason: str) -> set[int]:
    """Cancel one work order: reservations back on the shelf, purchase requests cancelled, the lead told."""
    before, _ = await change_work_order(ctx, work_order, "cancel", order, reason=reason)
    freed = await release_materials(ctx, work_order, f"{work_order.mo_no} cancelled: {reason}")
    await cancel_purchases(ctx, work_order)
    sku = (await skus_by_id(ctx.session, [work_order.product_id]))[work_order.product_id]
    record(
        ctx,
        WorkOrderCancelled(
            mo_no=work_order.mo_no,
            order_no=order.order_no,
            sku=sku,
            qty=work_order.qty,
            from_status=before,
            reason=reason,
            actor=ctx.actor.name,
            at=ctx.now(),
        ),
    )
    return freed


async def cancel_for_order(ctx: Context, order: Order, reason: str) -> set[int]:
    """The order is cancelled: so is every work order still open for it."""
    freed: set[int] = set()
    for work_order in await open_work_orders(ctx, order.id):
        freed |= await cancel_work_order(ctx, work_order, order, f"{order.order_no} cancelled: {reason}")
    return freed


async def replenish(ctx: Context, product_ids: Collection[int]) -> list[str]:
    """Stock of some materials arrived: top up open work orders short of them, oldest first, and
    bring their purchase requests down to what is still missing. Returns the work orders served."""
    if not product_ids:
        return []
    waiting = (
        select(WorkOrderMaterial.work_order_id)
        .where(
            WorkOrderMaterial.product_id.in_(list(product_ids)),
            WorkOrderMaterial.required > WorkOrderMaterial.reserved,
        )
        .scalar_subquery()
    )
    stmt = (
        select_work_orders()
        .where(WorkOrder.id.in_(waiting), WorkOrder.status.in_(OPEN))
        .order_by(WorkOrder.created_at, WorkOrder.id)
        .with_for_update(of=WorkOrder, skip_locked=True)
    )
    served = []
    for work_order in await ctx.session.scalars(stmt):
        wanted = {pid: qty for pid, qty in work_order.short.items() if pid in product_ids}
        taken = await _reserve(ctx, work_order, work_order.order_id, wanted)
        if not taken:
            continue
        served.append(work_order.mo_no)
        for product_id, qty in taken.items():
            await _settle_purchases(ctx, work_order, product_id, qty)
        if not work_order.short:  # the row itself is untouched: a card's buttons stay valid
            order_no = await ctx.session.scalar(select(Order.order_no).where(Order.id == work_order.order_id))
            sku = (await skus_by_id(ctx.session, [work_order.product_id]))[work_order.product_id]
            record(
                ctx,
                WorkOrderMaterialsReady(
                    mo_no=work_order.mo_no, order_no=order_no, sku=sku, qty=work_order.qty, at=ctx.now()
                ),
            )
    return served


async def _settle_purchases(ctx: Context, work_order: WorkOrder, product_id: int, qty: int) -> None:
    """``qty`` units of a material were reserved after all: the open request shrinks or is received."""
    for request in await ctx.session.scalars(
        select(PurchaseRequest)
        .where(
            PurchaseRequest.work_order_id == work_order.id,
            PurchaseRequest.product_id == product_id,
            PurchaseRequest.status == PurchaseRequestStatus.OPEN,
        )
        .order_by(PurchaseRequest.id)
    ):
        if qty >= request.qty:
            qty -= request.qty
            request.status = PurchaseRequestStatus.RECEIVED
        else:
            request.qty -= qty
            qty = 0
        if qty == 0:
            break


async def _by_sku(ctx: Context, by_id: dict[int, int]) -> dict[str, int]:
    skus = await skus_by_id(ctx.session, by_id)
    return {skus[pid]: qty for pid, qty in by_id.items()}
