"""Loading orders the way services need them: lines and customer together, locked when acting."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import SessionTransaction, joinedload, selectinload

from core.auth import OrderNotInYourWarehouse, Permission
from core.context import Context
from core.errors import ConcurrencyConflict, OrderNotFound
from core.inventory.models import Reservation, ReservationStatus, Warehouse
from core.orders.models import Order
from core.orders.status import OrderStatus


def select_orders() -> Select[tuple[Order]]:
    """Orders with their lines and customer loaded alongside (the relationships are ``lazy="raise"``,
    so every service that works on an order starts from this select and adds its own WHERE). The
    customer comes in the order's own row (every order has one), the lines in a second query."""
    return select(Order).options(selectinload(Order.lines), joinedload(Order.customer, innerjoin=True))


# Built once, as they run on every tap and every change by number: building a statement and its
# cache key costs more than SQLite takes to run it (``load_order`` passes the number).
_BY_NUMBER = select_orders().where(Order.order_no == bindparam("order_no"))
_BY_NUMBER_LOCKED = _BY_NUMBER.with_for_update(of=Order).execution_options(populate_existing=True)


async def find_order(ctx: Context, order_no: str) -> Order | None:
    """The order by its number, or None (for readers that skip an order gone since an event)."""
    return (await ctx.session.scalars(_BY_NUMBER, {"order_no": order_no.strip().upper()})).one_or_none()


async def order_by_id(ctx: Context, order_id: int) -> Order:
    """The order a shipment, return or task points at (the foreign key guarantees it exists)."""
    return (await ctx.session.scalars(select_orders().where(Order.id == order_id))).one()


async def order_by_external_ref(ctx: Context, channel: str, external_ref: str) -> Order | None:
    """The order a channel already sent under this reference, so a redelivery is not a second order."""
    stmt = select_orders().where(Order.channel == channel, Order.external_ref == external_ref)
    return (await ctx.session.scalars(stmt)).one_or_none()


async def awaiting_approval(ctx: Context, limit: int) -> list[Order]:
    """The oldest orders waiting for an approver, with lines and customer (a card needs both)."""
    stmt = select_orders().where(Order.status == OrderStatus.PENDING_APPROVAL).order_by(Order.id).limit(limit)
    return list(await ctx.session.scalars(stmt))


async def load_order(ctx: Context, order_no: str, *, for_update: bool = False) -> Order:
    """The order with its lines and customer; ``for_update`` locks the row on PostgreSQL so two
    taps on one card are served one after the other (SQLite's write lock already does that).

    An order locked once in the transaction is not read again by the next ``for_update`` while
    the lock surely holds (the same savepoint, or one inside it) and nothing of it has expired: a
    tap locks the order to see whether someone acted first, then approves it."""
    number = order_no.strip().upper()
    if for_update and (locked := _still_locked(ctx, number)) is not None:
        return locked
    stmt = _BY_NUMBER_LOCKED if for_update else _BY_NUMBER
    order = (await ctx.session.scalars(stmt, {"order_no": number})).one_or_none()
    if order is None:
        raise OrderNotFound(order_no=number)
    if for_update:
        ctx.session.info.setdefault(_LOCKED, {})[number] = (order, innermost(ctx))
    return order


_LOCKED = "oms_locked_orders"  # session.info: order number -> (the order, the transaction that locked it)


def innermost(ctx: Context) -> SessionTransaction | None:
    """The transaction (or savepoint) statements run in now."""
    session = ctx.session.sync_session
    return session.get_nested_transaction() or session.get_transaction()


def still_within(ctx: Context, locked_in: SessionTransaction | None) -> bool:
    """Whether ``locked_in`` is still open around the statements run now: what it locked stays
    locked (a rolled-back savepoint released its locks on PostgreSQL; a released one is not
    looked for, and what it read is read again)."""
    transaction = innermost(ctx)
    while transaction is not None and transaction is not locked_in:
        transaction = transaction.parent
    return transaction is not None and transaction.is_active


def _still_locked(ctx: Context, number: str) -> Order | None:
    """The order locked earlier, if the transaction that locked it is still open around this one."""
    found = ctx.session.info.get(_LOCKED, {}).get(number)
    if found is None:
        return None
    order, locked_in = found
    if not still_within(ctx, locked_in) or order not in ctx.session or not fully_loaded(order):
        return None
    return order


def fully_loaded(order: Order) -> bool:
    """Every column of the order and both relationships in memory, and nothing they hold expired
    (as a rolled-back savepoint leaves what it changed): safe to use without reading it again."""
    state = inspect(order)
    if not state.persistent or state.expired_attributes or state.unloaded:
        return False
    return all(fresh(held) for held in (order.customer, *order.lines))


def fresh(held: object) -> bool:
    """In the session, nothing of it expired (a rolled-back savepoint expires what it changed)."""
    state = inspect(held)
    return state.persistent and not state.expired_attributes


async def order_warehouses(ctx: Context, order_id: int) -> set[str]:
    rows = await ctx.session.scalars(
        select(Warehouse.code)
        .join(Reservation, Reservation.warehouse_id == Warehouse.id)
        .where(Reservation.order_id == order_id, Reservation.status != ReservationStatus.RELEASED)
        .distinct()
    )
    return set(rows)


@dataclass(frozen=True)
class OrderRef:
    """What ``authorize`` needs of an order, for readers that load no ``Order`` object."""

    id: int
    order_no: str
    customer_id: int


async def authorize(ctx: Context, order: Order | OrderRef, permission: Permission) -> None:
    """Role check plus scope: customers see their own orders, warehouse staff their warehouses'."""
    actor = ctx.actor
    actor.require(permission)
    if actor.only_own_orders and order.customer_id != actor.customer_id:
        # Say "not found" rather than "forbidden": a customer must not learn which numbers exist.
        raise OrderNotFound(order_no=order.order_no)
    if actor.only_own_warehouses:
        codes = await order_warehouses(ctx, order.id)
        if not codes & actor.warehouses:
            raise OrderNotInYourWarehouse(actor=actor.name, permission=permission, order_no=order.order_no)


async def acting_on(ctx: Context, order_no: str, permission: Permission, expected_version: int | None = None) -> Order:
    """Load, lock and authorize an order for a change; refuse a change made against a stale version."""
    order = await load_order(ctx, order_no, for_update=True)
    await authorize(ctx, order, permission)
    if expected_version is not None and order.version != expected_version:
        raise ConcurrencyConflict(entity="order", key=order.order_no, current=order.version)
    return order
