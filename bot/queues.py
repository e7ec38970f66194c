"""The work queues a chat command lists as cards: orders waiting for approval, orders to pick,
parcels in exception.

Cards are the chat layer's rows, so these services live here rather than in ``core``; the
orders come from ``core.orders.repository``.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from bot.cards import card_values
from bot.models import Card, CardKind, CardState
from core.auth import Permission
from core.context import Context
from core.orders.lifecycle import PICK_STEPS
from core.orders.models import Order
from core.orders.repository import awaiting_approval
from core.shipping.exceptions import open_exceptions

QUEUE_LENGTH = 20


async def approval_cards(ctx: Context) -> list[int]:
    """The open approval card of each order waiting for approval, oldest first.

    An order without one (sent before this reader was an approver, say) gets one now. The same few
    statements whatever the queue's length: the orders (with lines and customers), their open
    cards, one INSERT of the missing ones; not a look-up and a write per order.
    """
    ctx.actor.require(Permission.ORDER_APPROVE)
    orders = await awaiting_approval(ctx, QUEUE_LENGTH)
    if not orders:
        return []
    rows = await ctx.session.execute(
        select(Card.order_id, Card.id)
        .where(
            Card.order_id.in_([o.id for o in orders]),
            Card.kind == CardKind.APPROVAL,
            Card.state == CardState.OPEN,
        )
        .order_by(Card.id.desc())  # so dict() keeps each order's oldest open card
    )
    card_ids = dict(rows.all())
    missing = [card_values(ctx, CardKind.APPROVAL, o, reason=o.review_reason) for o in orders if o.id not in card_ids]
    if missing:
        card_ids.update((await ctx.session.execute(insert(Card).returning(Card.order_id, Card.id), missing)).all())
    return [card_ids[o.id] for o in orders]


async def pick_cards(ctx: Context) -> list[int]:
    """The open pick cards of orders still being picked or packed, in the actor's warehouses."""
    ctx.actor.require(Permission.FULFIL)
    rows = await ctx.session.execute(
        select(Card.id, Card.payload)
        .join(Order, Order.id == Card.order_id)
        .where(
            Card.kind == CardKind.PICK,
            Card.state == CardState.OPEN,
            Order.status.in_(list(PICK_STEPS)),  # the stretch a pick card covers
        )
        .order_by(Card.id)
        .limit(QUEUE_LENGTH)
    )
    actor = ctx.actor
    return [
        card_id
        for card_id, payload in rows
        if not actor.only_own_warehouses or set(payload.get("warehouses", [])) & actor.warehouses
    ]


async def exception_cards(ctx: Context) -> list[int]:
    """The open card of each parcel in exception and not yet handled, the longest waiting first.

    The shipments (and the right to see them) come from ``core.shipping.exceptions``; a parcel whose
    card was closed by someone handling it is not waiting for anyone, so it is not listed."""
    shipments = await open_exceptions(ctx, QUEUE_LENGTH * 5)
    if not shipments:
        return []
    rows = await ctx.session.execute(
        select(Card.id, Card.payload)
        .where(Card.kind == CardKind.PARCEL, Card.state == CardState.OPEN)
        .order_by(Card.id)
    )
    by_shipment: dict[int, int] = {}
    for card_id, payload in rows:
        by_shipment.setdefault(payload.get("shipment_id"), card_id)
    return [by_shipment[s.id] for s in shipments if s.id in by_shipment][:QUEUE_LENGTH]
