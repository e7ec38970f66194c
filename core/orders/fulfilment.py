"""The warehouse's part: pick, pack, ship (in parts if need be), and the carrier's progress to delivery."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from core.auth import Permission
from core.context import Context
from core.errors import (
    Action,
    InvalidTransition,
    OrderLineNotFound,
    QuantityTooSmall,
    ShipmentNotFound,
    WarehouseNotFound,
)
from core.events.catalogue import OrderShipped
from core.events.store import record
from core.inventory.demand import kit_recipes
from core.inventory.models import MovementKind, Reservation, ReservationStatus, Warehouse
from core.inventory.reservations import movement, ship_out
from core.orders.errors import (
    NothingReserved,
    NothingReservedHere,
    ShipQuantityOutOfRange,
    TrackingInUse,
    TrackingRequired,
    WhichWarehouse,
)
from core.orders.history import change_status
from core.orders.lifecycle import can
from core.orders.models import Order, Shipment, ShipmentLine
from core.orders.repository import acting_on, order_warehouses
from core.orders.status import OrderStatus, ShipmentStatus
from core.rebates import ledger as rebate_ledger
from core.shipping import carriers, tracking


async def _warehouse_step(ctx: Context, order_no: str, trigger: str, expected_version: int | None) -> Order:
    order = await acting_on(ctx, order_no, Permission.FULFIL, expected_version)
    await change_status(ctx, order, trigger)
    return order


async def start_picking(ctx: Context, order_no: str, *, expected_version: int | None = None) -> Order:
    return await _warehouse_step(ctx, order_no, "start_picking", expected_version)


async def pack(ctx: Context, order_no: str, *, expected_version: int | None = None) -> Order:
    return await _warehouse_step(ctx, order_no, "pack", expected_version)


@dataclass(frozen=True)
class ShipRequest:
    carrier: str
    tracking_no: str
    warehouse: str | None = None  # which warehouse's goods leave; needed when the order spans several
    lines: dict[str, int] | None = None  # sku -> qty; None = everything reserved for this warehouse


async def ship(ctx: Context, order_no: str, request: ShipRequest, *, expected_version: int | None = None) -> Shipment:
    carrier, tracking_no = request.carrier.strip(), request.tracking_no.strip()
    if not carrier or not tracking_no:
        raise TrackingRequired()
    carrier = carriers.resolve(carrier).code
    order = await acting_on(ctx, order_no, Permission.FULFIL, expected_version)
    if not can(order, "ship_part"):  # the same states as a full shipment
        raise InvalidTransition(
            action=Action("ship"), entity="order", key=order.order_no, state=OrderStatus(order.status)
        )
    warehouse = await _shipping_warehouse(ctx, order, request.warehouse)
    shippable = await _shippable(ctx, order, warehouse.id)
    wanted = _wanted(order, warehouse.code, shippable, request.lines)
    await tracking.parcel_lock(ctx, carrier, tracking_no)  # a push for it may be arriving right now
    existing = await ctx.session.scalar(
        select(Shipment.id).where(Shipment.carrier == carrier, Shipment.tracking_no == tracking_no)
    )
    if existing is not None:
        raise TrackingInUse(carrier=carrier, tracking_no=tracking_no)
    now = ctx.now()
    shipment = Shipment(
        order_id=order.id,
        warehouse_id=warehouse.id,
        carrier=carrier,
        tracking_no=tracking_no,
        status=ShipmentStatus.LABEL_CREATED,
        reached=[ShipmentStatus.LABEL_CREATED.value],
        created_at=now,
        updated_at=now,
    )
    shipment.lines = [ShipmentLine(order_line_id=line_id, qty=qty) for line_id, qty in sorted(wanted.items())]
    ctx.session.add(shipment)
    await _consume(ctx, order, warehouse.id, wanted)
    for line in order.lines:
        line.shipped_qty += wanted.get(line.id, 0)
    done = all(line.shipped_qty == line.qty for line in order.lines)
    shipped = {line.sku: wanted[line.id] for line in order.lines if line.id in wanted}
    await change_status(
        ctx,
        order,
        "ship" if done else "ship_part",
        carrier=carrier,
        tracking_no=tracking_no,
        warehouse=warehouse.code,
        lines=shipped,
    )
    record(
        ctx,
        OrderShipped(
            order_no=order.order_no,
            carrier=carrier,
            tracking_no=tracking_no,
            warehouse=warehouse.code,
            lines=shipped,
            complete=done,
            at=now,
        ),
    )
    await ctx.session.flush()
    await tracking.adopt(ctx, shipment)  # scans the carrier pushed before this commit
    return shipment


async def _shipping_warehouse(ctx: Context, order: Order, code: str | None) -> Warehouse:
    held = await order_warehouses(ctx, order.id)
    if code is None:
        scoped = held & ctx.actor.warehouses if ctx.actor.only_own_warehouses else held
        if len(scoped) != 1:
            if not held:
                raise NothingReserved(order_no=order.order_no)
            raise WhichWarehouse(order_no=order.order_no, warehouses=sorted(held))
        code = next(iter(scoped))
    ctx.actor.require_warehouses({code.upper()}, Permission.FULFIL)
    warehouse = (await ctx.session.scalars(select(Warehouse).where(Warehouse.code == code.upper()))).one_or_none()
    if warehouse is None:
        raise WarehouseNotFound(warehouse=code.upper())
    return warehouse


async def _line_recipes(ctx: Context, order: Order) -> dict[int, list[tuple[int, int]]]:
    """Per line: (stocked product, units per ordered unit); a plain line is its own component."""
    recipes = await kit_recipes(ctx.session, [line.product_id for line in order.lines if line.product_id])
    return {line.id: recipes.get(line.product_id, [(line.product_id, 1)]) for line in order.lines if line.product_id}


async def _active(ctx: Context, order_id: int, warehouse_id: int) -> list[Reservation]:
    return list(
        await ctx.session.scalars(
            select(Reservation)
            .where(
                Reservation.order_id == order_id,
                Reservation.warehouse_id == warehouse_id,
                Reservation.status == ReservationStatus.ACTIVE,
            )
            .order_by(Reservation.product_id, Reservation.id)
        )
    )


async def _shippable(ctx: Context, order: Order, warehouse_id: int) -> dict[int, int]:
    """Units per line that this warehouse holds for the order (whole kits only)."""
    held: dict[tuple[int, int], int] = defaultdict(int)
    for r in await _active(ctx, order.id, warehouse_id):
        held[(r.order_line_id, r.product_id)] += r.qty
    result = {}
    for line_id, parts in (await _line_recipes(ctx, order)).items():
        units = min(held[(line_id, product)] // per for product, per in parts)
        if units:
            result[line_id] = units
    return result


def _wanted(order: Order, warehouse: str, shippable: dict[int, int], lines: dict[str, int] | None) -> dict[int, int]:
    if lines is None:
        if not shippable:
            raise NothingReservedHere(order_no=order.order_no, warehouse=warehouse)
        return shippable
    by_sku = {line.sku: line for line in order.lines}
    wanted = {}
    for sku, qty in lines.items():
        line = by_sku.get(sku.strip().upper())
        if line is None:
            raise OrderLineNotFound(order_no=order.order_no, sku=sku.strip().upper())
        if qty <= 0:
            raise QuantityTooSmall(sku=line.sku, qty=qty)
        if not shippable.get(line.id):
            raise NothingReservedHere(order_no=order.order_no, warehouse=warehouse)
        if qty > shippable[line.id]:
            raise ShipQuantityOutOfRange(sku=line.sku, qty=qty, shippable=shippable[line.id])
        wanted[line.id] = qty
    return wanted


async def _consume(ctx: Context, order: Order, warehouse_id: int, wanted: dict[int, int]) -> None:
    """Turn the shipped units' reservations into goods out (split a reservation if only part leaves)."""
    recipes = await _line_recipes(ctx, order)
    reservations = await _active(ctx, order.id, warehouse_id)
    for line_id, qty in sorted(wanted.items()):
        for product_id, per in recipes[line_id]:
            need = qty * per
            for r in (r for r in reservations if r.order_line_id == line_id and r.product_id == product_id):
                if need == 0:
                    break
                take = min(need, r.qty)
                if take < r.qty:
                    ctx.session.add(
                        Reservation(
                            order_id=r.order_id,
                            order_line_id=r.order_line_id,
                            product_id=r.product_id,
                            warehouse_id=r.warehouse_id,
                            qty=r.qty - take,
                            status=ReservationStatus.ACTIVE,
                            created_at=r.created_at,
                        )
                    )
                    r.qty = take
                r.status = ReservationStatus.CONSUMED
                need -= take
                await ship_out(ctx, product_id, warehouse_id, take)
                movement(
                    ctx, MovementKind.SHIP, product_id, warehouse_id, on_hand=-take, reserved=-take, order_id=order.id
                )


async def track(
    ctx: Context, carrier: str, tracking_no: str, status: ShipmentStatus, *, note: str | None = None
) -> Shipment:
    """A person (or a test) reports a carrier's progress: one scan, by the same rules as a push."""
    ctx.actor.require(Permission.FULFIL)
    known = carriers.find(carrier)
    code = known.code if known else carrier.strip().upper()
    shipment = (
        await ctx.session.scalars(
            select(Shipment)
            .where(Shipment.carrier == code, Shipment.tracking_no == tracking_no.strip())
            .with_for_update()
        )
    ).one_or_none()
    if shipment is None:
        raise ShipmentNotFound(carrier=code, tracking_no=tracking_no.strip())
    scan = tracking.Scan(occurred_at=ctx.now(), status=status, description=note or "")
    new = await tracking.merge(ctx, code, shipment.tracking_no, [scan], "manual", shipment)
    await tracking.advance(ctx, shipment, new)
    return shipment


async def confirm_delivery(ctx: Context, order_no: str, *, expected_version: int | None = None) -> Order:
    """Someone confirms delivery by hand (no carrier feed): every shipment counts as delivered."""
    order = await acting_on(ctx, order_no, Permission.FULFIL, expected_version)
    if not can(order, "deliver"):
        raise InvalidTransition(
            action=Action("deliver"), entity="order", key=order.order_no, state=OrderStatus(order.status)
        )
    shipments = list(await ctx.session.scalars(select(Shipment).where(Shipment.order_id == order.id)))
    for shipment in shipments:
        shipment.status, shipment.updated_at = ShipmentStatus.DELIVERED, ctx.now()
        shipment.reached = list(dict.fromkeys([*(shipment.reached or []), ShipmentStatus.DELIVERED.value]))
    await change_status(ctx, order, "deliver", reason="delivery confirmed")
    return order


async def complete(ctx: Context, order_no: str, *, expected_version: int | None = None) -> Order:
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT, expected_version)
    await change_status(ctx, order, "complete")
    await rebate_ledger.accrue(ctx, order)  # a distributor's rebate counts completed orders
    return order
