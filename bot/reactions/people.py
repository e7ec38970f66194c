"""Who hears what: the salesperson about their orders, the customer about confirmation, shipping
and delivery, the warehouse about low stock, finance about overdue invoices, service about returns."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery import customer_users, tell, users_by_id, users_with_role
from bot.i18n import N_
from bot.labels import money
from bot.reactions.orders import event_order
from core.context import Context
from core.events.catalogue import (
    OrderShipped,
    OrderStatusChanged,
    PaymentOverdue,
    ReturnRequested,
    ShipmentUpdated,
    StockLow,
)
from core.orders.models import Shipment
from core.orders.status import OrderStatus as S
from core.orders.status import ShipmentStatus
from core.shipping.models import TrackingEvent

_SALES_TEXT = {
    S.CONFIRMED: N_("{order_no} was confirmed."),
    S.REJECTED: N_("{order_no} was rejected: {reason}"),
    S.ON_HOLD: N_("{order_no} is on hold: {reason}"),
    S.BACKORDERED: N_("{order_no} waits for stock ({reason}); a purchase request is raised."),
    S.ALLOCATED: N_("{order_no} has its stock reserved."),
    S.CANCELLED: N_("{order_no} was cancelled: {reason}"),
    S.DELIVERED: N_("{order_no} was delivered."),
}
_CUSTOMER_TEXT = {
    S.CONFIRMED: N_("Your order {order_no} is confirmed (total {total})."),
    S.CANCELLED: N_("Your order {order_no} was cancelled."),
    S.DELIVERED: N_("Your order {order_no} was delivered. Thank you!"),
}
# The carrier's key points a customer hears about, once each, with the carrier's own words.
_PARCEL_TEXT = {
    ShipmentStatus.PICKED_UP: N_("Your order {order_no} was picked up by {carrier} (tracking number {tracking_no})."),
    ShipmentStatus.OUT_FOR_DELIVERY: N_("Your order {order_no} is out for delivery ({carrier} {tracking_no})."),
    ShipmentStatus.DELIVERED: N_("Your order {order_no} was delivered ({carrier} {tracking_no}). Thank you!"),
}
_PARCEL_TEXT_SAID = {
    ShipmentStatus.PICKED_UP: N_(
        "Your order {order_no} was picked up by {carrier} (tracking number {tracking_no}): {words}"
    ),
    ShipmentStatus.OUT_FOR_DELIVERY: N_("Your order {order_no} is out for delivery ({carrier} {tracking_no}): {words}"),
    ShipmentStatus.DELIVERED: N_("Your order {order_no} was delivered ({carrier} {tracking_no}): {words}. Thank you!"),
}
_PART_DELIVERED = N_(
    "One parcel of your order {order_no} was delivered ({carrier} {tracking_no}); {left} more to come."
)


async def on_status_changed(ctx: Context, event: OrderStatusChanged) -> None:
    to = event.to_status
    if to not in _SALES_TEXT and to not in _CUSTOMER_TEXT:
        return
    order = await event_order(ctx, event.order_no)
    if order is None:
        return
    params = {"order_no": order.order_no, "total": money(order.total)}
    if to in _SALES_TEXT and order.salesperson_id:
        sales = await users_by_id(ctx, [order.salesperson_id])
        tell(ctx, sales, _SALES_TEXT[to], skip=event.actor_id, status=to.value, reason=event.reason or "", **params)
    if to == S.DELIVERED and await _carrier_delivered(ctx, order.id):
        return  # the customer heard it from the carrier's scan (``on_shipment_updated``)
    if to in _CUSTOMER_TEXT:
        tell(ctx, await customer_users(ctx, order.customer_id), _CUSTOMER_TEXT[to], skip=event.actor_id, **params)


async def _carrier_delivered(ctx: Context, order_id: int) -> bool:
    """Whether a scan (pushed or reported) delivered one of the order's parcels."""
    found = await ctx.session.scalar(
        select(TrackingEvent.id)
        .join(Shipment, Shipment.id == TrackingEvent.shipment_id)
        .where(Shipment.order_id == order_id, TrackingEvent.status == ShipmentStatus.DELIVERED)
        .limit(1)
    )
    return found is not None


async def on_shipped(ctx: Context, event: OrderShipped) -> None:
    order = await event_order(ctx, event.order_no)
    if order is None:
        return
    params = {"order_no": order.order_no, "carrier": event.carrier, "tracking_no": event.tracking_no}
    tell(
        ctx,
        await customer_users(ctx, order.customer_id),
        "Your order {order_no} has shipped with {carrier}, tracking number {tracking_no}.",
        **params,
    )
    tell(
        ctx,
        await users_by_id(ctx, [order.salesperson_id]),
        "{order_no} shipped with {carrier} {tracking_no}.",
        **params,
    )


async def on_shipment_updated(ctx: Context, event: ShipmentUpdated) -> None:
    """Picked up, out for delivery, delivered: the first time each, never for an in-transit scan.
    The order's own "delivered" is said here, with the carrier's words, when a carrier delivered it."""
    if event.to_status not in _PARCEL_TEXT or not event.first:
        return
    order = await event_order(ctx, event.order_no)
    if order is None:
        return
    params = {"order_no": order.order_no, "carrier": event.carrier, "tracking_no": event.tracking_no}
    customers = await customer_users(ctx, order.customer_id)
    if event.to_status == ShipmentStatus.DELIVERED and event.parcels_left:
        tell(ctx, customers, _PART_DELIVERED, left=event.parcels_left, **params)
        return
    if event.note:
        tell(ctx, customers, _PARCEL_TEXT_SAID[event.to_status], words=event.note, **params)
    else:
        tell(ctx, customers, _PARCEL_TEXT[event.to_status], **params)


async def on_stock_low(ctx: Context, event: StockLow) -> None:
    tell(
        ctx,
        await users_with_role(ctx, "warehouse", "admin"),
        "Low stock: {sku} {name} has {available} available (safety stock {safety_stock}).",
        sku=event.sku,
        name=event.product,
        available=event.available,
        safety_stock=event.safety_stock,
    )


async def on_return_requested(ctx: Context, event: ReturnRequested) -> None:
    tell(
        ctx,
        await users_with_role(ctx, "service"),
        "Return {rma_no} requested for {order_no}: {reason}",
        rma_no=event.rma_no,
        order_no=event.order_no,
        reason=event.reason,
    )


async def on_payment_overdue(ctx: Context, event: PaymentOverdue) -> None:
    tell(
        ctx,
        await users_with_role(ctx, "finance"),
        "Payment overdue: {order_no} ({amount}, due {due_on}).",
        order_no=event.order_no,
        amount=money(event.amount),
        due_on=event.due_on.isoformat(),
    )
