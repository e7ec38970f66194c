"""The pick list for one warehouse: the wave of orders ready to pick there, walked by location.

Lines come from the active reservations in that warehouse (so a kit is picked as its components,
and an order split across warehouses shows only this warehouse's part), aggregated by SKU and
location, sorted by location (unplaced SKUs last), then SKU.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.customers.models import Customer
from core.documents.errors import NothingToPick
from core.errors import WarehouseNotFound
from core.inventory.models import Reservation, ReservationStatus, StockLevel, Warehouse
from core.orders.models import Order
from core.orders.status import OrderStatus

WAVE_SIZE = 200  # orders on one list, oldest first; the rest go on the next one


@dataclass(frozen=True)
class PickOrder:
    order_no: str
    customer: str
    created_at: datetime
    units: int


@dataclass(frozen=True)
class PickLine:
    location: str | None
    sku: str
    name: str
    qty: int
    orders: tuple[str, ...]  # which orders the units are for


@dataclass(frozen=True)
class PickList:
    warehouse_code: str
    warehouse_name: str
    printed_at: datetime
    orders: tuple[PickOrder, ...]
    lines: tuple[PickLine, ...]

    @property
    def total_units(self) -> int:
        return sum(line.qty for line in self.lines)


async def pick_list(ctx: Context, warehouse_code: str, *, wave_size: int = WAVE_SIZE) -> PickList:
    code = warehouse_code.strip().upper()
    ctx.actor.require_warehouses([code], Permission.FULFIL)
    warehouse = (await ctx.session.scalars(select(Warehouse).where(Warehouse.code == code))).one_or_none()
    if warehouse is None:
        raise WarehouseNotFound(warehouse=code)
    in_wave = (
        select(Order.id)
        .join(Reservation, Reservation.order_id == Order.id)
        .where(
            Order.status == OrderStatus.READY_TO_PICK,
            Reservation.warehouse_id == warehouse.id,
            Reservation.status == ReservationStatus.ACTIVE,
        )
        .group_by(Order.id, Order.created_at)
        .order_by(Order.created_at, Order.id)
        .limit(wave_size)
    )
    order_ids = list(await ctx.session.scalars(in_wave))
    if not order_ids:
        raise NothingToPick(warehouse=code)
    rows = (
        await ctx.session.execute(
            select(
                Order.order_no,
                Customer.name,
                Order.created_at,
                Product.sku,
                Product.name,
                StockLevel.location,
                func.sum(Reservation.qty),
            )
            .join(Order, Order.id == Reservation.order_id)
            .join(Customer, Customer.id == Order.customer_id)
            .join(Product, Product.id == Reservation.product_id)
            .outerjoin(
                StockLevel,
                and_(StockLevel.product_id == Reservation.product_id, StockLevel.warehouse_id == warehouse.id),
            )
            .where(
                Reservation.order_id.in_(order_ids),
                Reservation.warehouse_id == warehouse.id,
                Reservation.status == ReservationStatus.ACTIVE,
            )
            .group_by(Order.order_no, Customer.name, Order.created_at, Product.sku, Product.name, StockLevel.location)
        )
    ).all()
    orders: dict[str, PickOrder] = {}
    qty: dict[tuple[str | None, str], int] = defaultdict(int)
    names: dict[str, str] = {}
    for_orders: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for order_no, customer, created_at, sku, name, location, units in rows:
        units = int(units)
        seen = orders.get(order_no)
        orders[order_no] = PickOrder(order_no, customer, created_at, units + (seen.units if seen else 0))
        qty[(location, sku)] += units
        names[sku] = name
        for_orders[(location, sku)].add(order_no)
    lines = tuple(
        PickLine(location, sku, names[sku], qty[(location, sku)], tuple(sorted(for_orders[(location, sku)])))
        for location, sku in sorted(qty, key=lambda key: (key[0] is None, key[0] or "", key[1]))
    )
    return PickList(
        warehouse_code=warehouse.code,
        warehouse_name=warehouse.name,
        printed_at=ctx.now(),
        orders=tuple(sorted(orders.values(), key=lambda o: (o.created_at, o.order_no))),
        lines=lines,
    )
