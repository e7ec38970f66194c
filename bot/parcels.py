"""Parcel cards: a shipment in exception, as one live card for service and the order's salesperson.

One open card per shipment: a second exception (a failed attempt, then a refusal) updates it in
place rather than piling up cards. It closes when someone handles the exception from it (who and
how is its outcome) or when the carrier moves the parcel on again (``follow_parcel``). A tap runs
under the card's row lock and re-checks the shipment first (``overtaken``), so however many taps
arrive, one of them acts and the rest are told what was done.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.cards import card_values
from bot.delivery import card_changed, tell, users_by_id, users_with_role
from bot.models import Card, CardKind, CardState
from core.context import Context
from core.events.catalogue import ShipmentUpdated
from core.orders.models import Shipment
from core.orders.repository import find_order
from core.orders.status import ShipmentStatus
from core.shipping import exceptions

# The card's verbs and the core service each runs, with what the result is called in the outcome.
PERFORM = {
    "contacted": exceptions.customer_contacted,
    "reship": exceptions.reship,
    "open_return": exceptions.open_return,
}
ACTION_OF = {"contacted": "customer_contacted", "reship": "reship", "open_return": "return_opened"}


async def _shipment(ctx: Context, event: ShipmentUpdated) -> Shipment | None:
    stmt = select(Shipment).where(Shipment.carrier == event.carrier, Shipment.tracking_no == event.tracking_no)
    return (await ctx.session.scalars(stmt)).one_or_none()


async def open_cards(ctx: Context, shipment_id: int) -> list[Card]:
    rows = await ctx.session.scalars(
        select(Card)
        .where(Card.kind == CardKind.PARCEL, Card.state == CardState.OPEN)
        .order_by(Card.id)
        .with_for_update()
    )
    return [card for card in rows if card.payload.get("shipment_id") == shipment_id]


def _details(shipment: Shipment, event: ShipmentUpdated) -> dict[str, Any]:
    return {
        "shipment_id": shipment.id,
        "carrier": shipment.carrier,
        "tracking_no": shipment.tracking_no,
        "reason": event.reason or "problem",
        "last_event": event.note or shipment.last_event,
        "location": event.location or shipment.last_location,
        "since": event.at.isoformat(),
    }


async def follow_parcel(ctx: Context, event: ShipmentUpdated) -> None:
    """Into exception: open (or refresh) the parcel's card. Out of it: close the card."""
    shipment = await _shipment(ctx, event)
    if shipment is None:
        return
    cards = await open_cards(ctx, shipment.id)
    if event.to_status == ShipmentStatus.EXCEPTION:
        if ShipmentStatus(shipment.status) != ShipmentStatus.EXCEPTION:
            return  # moved on again before this was delivered
        details = _details(shipment, event)
        if cards:
            for card in cards:
                card.payload = {**card.payload, **details}
                card.updated_at = ctx.now()
                await card_changed(ctx, card)
            return
        order = await find_order(ctx, event.order_no)
        if order is None:
            return
        card = Card(**card_values(ctx, CardKind.PARCEL, order, **details))
        ctx.session.add(card)
        await ctx.session.flush()
        readers = {u.id: u for u in await users_with_role(ctx, "service")}
        readers.update((u.id, u) for u in await users_by_id(ctx, [order.salesperson_id]))
        tell(ctx, list(readers.values()), "", card=card)
        return
    for card in cards:
        card.state = CardState.CLOSED
        card.outcome = {
            "action": "moving",
            "actor": event.carrier,
            "at": event.at.isoformat(),
            "status": event.to_status.value,
        }
        card.updated_at = ctx.now()
        await card_changed(ctx, card)


async def overtaken(ctx: Context, card: Card) -> dict[str, Any] | None:
    """What happened to the parcel since the card was shown, as an outcome; None while it applies."""
    shipment = await ctx.session.get(Shipment, card.payload["shipment_id"], populate_existing=True)
    if shipment is None:
        return {"action": "moving", "status": "gone"}
    if ShipmentStatus(shipment.status) != ShipmentStatus.EXCEPTION:
        at = (shipment.last_event_at or shipment.updated_at).isoformat()
        return {"action": "moving", "actor": shipment.carrier, "at": at, "status": str(shipment.status)}
    done = await exceptions.handled(ctx, shipment.id)
    if done is None:
        return None
    return {"action": done.action, "actor": done.actor, "at": done.at, "result": done.result}


async def perform(ctx: Context, card: Card, verb: str) -> str | None:
    """Run the tapped action and close the card for everyone; returns what it made (order, RMA)."""
    made = await PERFORM[verb](ctx, card.payload["shipment_id"])
    result = made if isinstance(made, str) else getattr(made, "order_no", None)
    result = None if verb == "contacted" else result
    card.state = CardState.CLOSED
    card.outcome = {"action": ACTION_OF[verb], "actor": ctx.actor.name, "at": ctx.now().isoformat(), "result": result}
    card.updated_at = ctx.now()
    await card_changed(ctx, card)
    return result
