"""Cards: opened for an order, rendered per reader, and kept in step with the order's status.

``sync_cards`` is the one place that closes or advances a card when its order moves, whether the
move came from a tap, a typed command, or anything else; a closed card says who acted and when.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.actions import ActionId
from bot.i18n import Translator
from bot.labels import DONE, clock, money, payment, status
from bot.models import Card, CardKind, CardState
from bot.views import Button, CardView
from core.context import Context
from core.orders.models import Order
from core.orders.status import OrderStatus
from core.timers.service import cancel

PICK_STAGES = (OrderStatus.READY_TO_PICK, OrderStatus.PICKING)
ENDS_APPROVAL = {"approve", "reject", "cancel", "edit"}


def _order_payload(order: Order) -> dict[str, Any]:
    return {
        "customer": order.customer.name,
        "customer_code": order.customer.code,
        "total": str(order.total),
        "currency": order.currency,
        "payment_terms": str(order.payment_terms),
        "lines": [{"sku": line.sku, "name": line.name, "qty": line.qty} for line in order.lines],
    }


def open_card(ctx: Context, kind: CardKind, order: Order, **extra: Any) -> Card:
    now = ctx.now()
    card = Card(
        kind=kind,
        order_id=order.id,
        order_no=order.order_no,
        version=order.version,
        state=CardState.OPEN,
        payload={**_order_payload(order), "stage": str(order.status), **extra},
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(card)
    return card


async def sync_cards(
    ctx: Context, order: Order, *, trigger: str, actor: str, at: str, reason: str | None
) -> list[Card]:
    """Bring the order's open cards up to date with its status.

    A pick card follows the order through picking and takes the order's new version with each
    step. An approval card belongs to one request for approval: anything that ends it (approve,
    reject, cancel, an edit that voids it) closes the card, and its version is never moved on,
    so a tap can only ever approve what the card showed.
    """
    cards = list(
        await ctx.session.scalars(
            select(Card).where(Card.order_id == order.id, Card.state == CardState.OPEN).with_for_update()
        )
    )
    current = OrderStatus(order.status)
    changed = []
    for card in cards:
        if card.kind == CardKind.PICK and current in PICK_STAGES:
            if card.payload.get("stage") != current.value:
                last = {"action": trigger, "actor": actor, "at": at}
                card.payload = {**card.payload, "stage": current.value, "last": last}
            card.version = order.version
        elif (
            card.kind == CardKind.APPROVAL and current == OrderStatus.PENDING_APPROVAL and trigger not in ENDS_APPROVAL
        ):
            continue
        else:
            card.state = CardState.CLOSED
            card.outcome = {"action": trigger, "actor": actor, "at": at, "status": current.value, "reason": reason}
            if card.kind == CardKind.APPROVAL:
                await _stop_clocks(ctx, card)
        card.updated_at = ctx.now()
        changed.append(card)
    return changed


async def close_level(ctx: Context, order_no: str, level: int, *, actor: str, at: str) -> list[Card]:
    """Close the approval cards of one completed step (the order itself has not moved yet)."""
    cards = list(
        await ctx.session.scalars(
            select(Card)
            .where(Card.order_no == order_no, Card.kind == CardKind.APPROVAL, Card.state == CardState.OPEN)
            .with_for_update()
        )
    )
    closed = []
    for card in cards:
        if card.payload.get("level", 0) == level:
            card.state = CardState.CLOSED
            card.outcome = {"action": "approve", "actor": actor, "at": at, "status": "pending_approval"}
            card.updated_at = ctx.now()
            await _stop_clocks(ctx, card)
            closed.append(card)
    return closed


async def _stop_clocks(ctx: Context, card: Card) -> None:
    """A closed approval card's reminders and escalation have nothing left to chase."""
    await cancel(ctx, f"approval.remind:{card.order_no}:{card.id}")
    await cancel(ctx, f"approval.escalate:{card.order_no}:{card.id}")


def render(card: Card, _: Translator, timezone: str) -> CardView:
    p = card.payload
    lines = ", ".join(f"{line['sku']} ×{line['qty']}" for line in p.get("lines", []))
    if card.kind == CardKind.APPROVAL:
        title = _("Approval needed: {order_no}", order_no=card.order_no)
        fields = [
            (_("Customer"), p["customer"]),
            (_("Total"), f"{money(p['total'])} {p.get('currency', '')}".strip()),
            (_("Payment"), payment(_, p.get("payment_terms", ""))),
            (_("Lines"), lines),
        ]
        notes = [_("Why: {reason}", reason=p["reason"])] if p.get("reason") else []
        if p.get("levels", 1) > 1:
            notes.insert(0, _("Step {step} of {steps}", step=p.get("level", 0) + 1, steps=p["levels"]))
        if p.get("rule"):
            notes.append(_("Rule: {rule}", rule=p["rule"]))
        buttons = [
            Button(
                _("Approve"),
                ActionId("approve", card.id, card.version).encode(),
                "primary",
                command=f"/approve {card.order_no}",
            ),
            Button(
                _("Reject"),
                ActionId("reject", card.id, card.version).encode(),
                "danger",
                confirm={
                    "title": _("Reject {order_no}?", order_no=card.order_no),
                    "text": _("The salesperson is told, and the order cannot be approved afterwards."),
                    "yes": _("Reject"),
                    "no": _("Cancel"),
                },
                command=f"/reject {card.order_no} " + _("reason"),
            ),
        ]
    else:
        title = _("Pick: {order_no}", order_no=card.order_no)
        # A closed card's stage is where the order went when it closed (packed, or cancelled);
        # the payload keeps the last picking stage the card followed.
        final = (card.outcome or {}).get("status") if card.state == CardState.CLOSED else None
        fields = [
            (_("Warehouse"), ", ".join(p.get("warehouses", []))),
            (_("Customer"), p["customer"]),
            (_("Lines"), lines),
            (_("Stage"), status(_, final or p.get("stage", ""))),
        ]
        notes = [
            _("{sku} {name}: {qty}", sku=line["sku"], name=line["name"], qty=line["qty"]) for line in p.get("lines", [])
        ]
        stage = p.get("stage")
        verb = "picked" if stage == OrderStatus.READY_TO_PICK else "packed"
        label = _("Picked") if verb == "picked" else _("Packed")
        typed = f"/pick {card.order_no}" if verb == "picked" else f"/packed {card.order_no}"
        buttons = [Button(label, ActionId(verb, card.id, card.version).encode(), "primary", command=typed)]
        if p.get("last"):
            last = p["last"]
            notes.append(
                _(
                    "{action} by {actor} at {time}",
                    action=_(DONE.get(last["action"], last["action"])),
                    actor=last["actor"],
                    time=clock(last["at"], timezone),
                )
            )
    outcome = None
    if card.state == CardState.CLOSED:
        buttons = []
        outcome = describe_outcome(card, _, timezone)
    return CardView(card.id, str(card.kind), title, fields, notes, buttons, outcome, str(card.state), card.version)


def describe_outcome(card: Card, _: Translator, timezone: str) -> str:
    o = card.outcome or {}
    time = clock(o["at"], timezone) if o.get("at") else ""
    if o.get("action") == "edit":
        return _(
            "Void: {actor} edited the order at {time}; a new request follows if it still needs review",
            actor=o.get("actor"),
            time=time,
        )
    if o.get("action") in DONE:
        text = _("{action} by {actor} at {time}", action=_(DONE[o["action"]]), actor=o.get("actor"), time=time)
    else:
        text = _(
            "Closed: the order is now {status} ({actor}, {time})",
            status=status(_, o.get("status", "")),
            actor=o.get("actor"),
            time=time,
        )
    if o.get("reason") and o.get("action") in ("reject", "cancel"):
        text += " · " + o["reason"]
    return text
