"""A shipped parcel is subscribed with the tracking aggregator, so its pushes start by themselves.

``OrderShipped`` is written in /ship's own transaction and delivered once; delivering it writes
the subscription as an outbox row (platform ``kuaidi100`` or ``aftership``, one "chat" per
parcel), so the call is made after commit by the dispatcher, retried with its backoff, and a
permanent refusal ends ``dead`` with the reason and the admins told, like any undeliverable
message. The row holds only what the parcel is (carrier, number, phone); the key, the salt and the
callback URL are added by the client when it sends, so no secret is stored in the table.

One aggregator per parcel: Kuaidi100 when ``OMS_KUAIDI100_KEY`` is set, otherwise AfterShip when
``OMS_AFTERSHIP_API_KEY`` is; neither, nothing is queued.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery import enqueue
from bot.reactions.orders import event_order
from core.context import Context
from core.customers.models import Customer
from core.events.catalogue import OrderShipped
from core.shipping import carriers

KUAIDI100 = "kuaidi100"
AFTERSHIP = "aftership"


def aggregator(ctx: Context) -> str | None:
    """Which aggregator new parcels are subscribed with, if any."""
    if ctx.settings.kuaidi100_key:
        return KUAIDI100
    if ctx.settings.aftership_api_key:
        return AFTERSHIP
    return None


def recipient(carrier: str, tracking_no: str) -> str:
    """The outbox "chat" of one parcel: its subscription never waits behind another parcel's."""
    return f"{carrier}:{tracking_no}"


async def subscribe(ctx: Context, event: OrderShipped) -> None:
    provider = aggregator(ctx)
    if provider is None:
        return
    order = await event_order(ctx, event.order_no)
    if order is None:
        return
    known = carriers.BY_CODE.get(event.carrier)
    phone = (order.ship_to or {}).get("phone") or await ctx.session.scalar(
        select(Customer.phone).where(Customer.id == order.customer_id)
    )
    payload = {
        "carrier": event.carrier,
        # the aggregator's code for it; a carrier we have no row for is passed as typed
        "company": (known.kuaidi100 if provider == KUAIDI100 else known.aftership) if known else event.carrier.lower(),
        "tracking_no": event.tracking_no,
        "order_no": event.order_no,
        "phone": phone or "",
    }
    enqueue(ctx, provider, recipient(event.carrier, event.tracking_no), "send", payload)
