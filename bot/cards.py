"""Cards: opened for an order, rendered per reader, and kept in step with the order's status.

``sync_cards`` is the one place that closes or advances a card when its order moves, whether the
move came from a tap, a typed command, the CLI or a webhook: it runs when the order's
``OrderStatusChanged`` is delivered, never in the tap itself. A closed card says who acted and when.
Which moves end which card is the lifecycle's knowledge (``REVIEW``, ``PICK_STEPS``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from bot.actions import BUTTON, ActionId
from bot.i18n import N_, Translator
from bot.labels import (
    DONE,
    carrier_name,
    clock,
    exception_reason,
    moment,
    money,
    payment,
    review_reason,
    shipment_status,
    status,
    work_order_status,
)
from bot.models import Card, CardKind, CardState
from bot.views import Button, CardView
from core.audit.models import AuditRecord
from core.context import Context
from core.db.lengths import CheckedSession
from core.events.catalogue import OrderStatusChanged
from core.orders import approvals
from core.orders.history import last_change
from core.orders.lifecycle import PICK_STEPS, REVIEW, can, ends_review
from core.orders.models import Order
from core.orders.status import OrderStatus
from core.timers.service import cancel_keys

# The approval card's two clocks: the nudge, then the escalation (``bot.workflows.timers``).
REMIND = "approval.remind"
ESCALATE = "approval.escalate"


def _order_payload(order: Order) -> dict[str, Any]:
    return {
        "customer": order.customer.name,
        "customer_code": order.customer.code,
        "total": str(order.total),
        "currency": order.currency,
        "payment_terms": str(order.payment_terms),
        "lines": [{"sku": line.sku, "name": line.name, "qty": line.qty} for line in order.lines],
        **({"project": order.project_name} if order.project_name else {}),  # a project contract
    }


def card_values(ctx: Context, kind: CardKind, order: Order, **extra: Any) -> dict[str, Any]:
    """The columns of a new open card for the order (``open_card`` adds one; a queue inserts many at once)."""
    now = ctx.now()
    return {
        "kind": kind,
        "order_id": order.id,
        "order_no": order.order_no,
        "version": order.version,
        "state": CardState.OPEN,
        "payload": {**_order_payload(order), "stage": str(order.status), **extra},
        "created_at": now,
        "updated_at": now,
    }


def open_card(ctx: Context, kind: CardKind, order: Order, **extra: Any) -> Card:
    card = Card(**card_values(ctx, kind, order, **extra))
    ctx.session.add(card)
    return card


async def _open_cards(ctx: Context, order_id: int, kind: CardKind | None = None) -> list[Card]:
    """The order's open cards (of ``kind``), locked, in the order they were opened.

    One change's reactions ask this three or four times for the same order (the step's cards,
    then each status change's): the first answer is kept for the transaction and later questions
    are answered from it while no card is added or written by a statement meanwhile (a card
    closed in memory is left out). A savepoint's end forgets it (a rolled-back
    one released its locks on PostgreSQL and undid what it changed)."""
    if _new_cards(ctx.session.sync_session):
        await ctx.session.flush()  # a card added since: written now, and what was read is forgotten
    found = ctx.session.info.get(_OPEN_CARDS, {}).get(order_id)
    if found is None:
        found = list(await ctx.session.scalars(_OPEN_OF_ORDER, {"order_id": order_id}))
        ctx.session.info.setdefault(_OPEN_CARDS, {})[order_id] = found
    return [card for card in found if card.state == CardState.OPEN and kind in (None, card.kind)]


_OPEN_CARDS = "oms_open_cards"  # session.info: order id -> its open cards, as last read
_OPEN_OF_ORDER = (  # built once: every change of an order asks it
    select(Card)
    .where(Card.order_id == bindparam("order_id"), Card.state == CardState.OPEN)
    .order_by(Card.id)
    .with_for_update()
)


def _new_cards(session: Session) -> bool:
    return any(isinstance(obj, Card) for obj in session.new)


@event.listens_for(CheckedSession, "before_flush")
def _forget_if_cards_are_added(session: Session, _context: Any, _instances: Any) -> None:
    if _new_cards(session):
        session.info.pop(_OPEN_CARDS, None)


@event.listens_for(CheckedSession, "do_orm_execute")
def _forget_if_cards_are_written(state: ORMExecuteState) -> None:
    if not state.is_select and state.bind_mapper is not None and state.bind_mapper.class_ is Card:
        state.session.info.pop(_OPEN_CARDS, None)


@event.listens_for(CheckedSession, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested or transaction.parent is None:  # not a flush's own inner transaction
        session.info.pop(_OPEN_CARDS, None)


async def sync_cards(ctx: Context, order: Order, change: OrderStatusChanged) -> list[Card]:
    """Bring the order's open cards in step with one change of its status; returns those that changed.

    A pick card follows the order through the states it covers (``PICK_STEPS``) and takes the
    order's new version with each step. An approval card belongs to one stay in review: the move
    that ends it (approve, reject, cancel, an edit that voids it) closes the card, and its version
    is never moved on, so a tap can only ever approve what the card showed. A card already in step
    (the change was delivered before) is left alone, so a change edits each copy once.
    """
    changed = []
    for card in await _open_cards(ctx, order.id):
        if card.kind == CardKind.WORK_ORDER:
            continue  # follows its work order (``bot.production``), not the order
        if card.kind == CardKind.PICK and change.to_status in PICK_STEPS:
            if card.payload.get("stage") == change.to_status and card.version == order.version:
                continue
            if card.payload.get("stage") != change.to_status:
                last = {"action": change.trigger, "actor": change.actor, "at": change.at.isoformat()}
                card.payload = {**card.payload, "stage": change.to_status.value, "last": last}
            card.version = order.version
        elif card.kind == CardKind.APPROVAL and not ends_review(change.from_status) and can(order, "approve"):
            continue
        else:
            card.state = CardState.CLOSED
            card.outcome = {
                "action": change.trigger,
                "actor": change.actor,
                "at": change.at.isoformat(),
                "status": change.to_status.value,
                "reason": change.reason,
            }
            if card.kind == CardKind.APPROVAL:
                await _stop_clocks(ctx, card)
        card.updated_at = ctx.now()
        changed.append(card)
    return changed


async def close_level(ctx: Context, order_id: int, level: int, *, actor: str, at: datetime) -> list[Card]:
    """Close the approval cards of one completed step (the order itself has not moved yet)."""
    closed = []
    for card in await _open_cards(ctx, order_id, CardKind.APPROVAL):
        if card.payload.get("level", 0) == level:
            card.state = CardState.CLOSED
            card.outcome = {"action": "approve", "actor": actor, "at": at.isoformat(), "status": REVIEW.value}
            card.updated_at = ctx.now()
            await _stop_clocks(ctx, card)
            closed.append(card)
    return closed


async def show_progress(ctx: Context, order_id: int, level: int, approved_by: tuple[str, ...]) -> list[Card]:
    """A step that needs all of a role shows who has approved so far; it stays open for the rest."""
    shown = []
    for card in await _open_cards(ctx, order_id, CardKind.APPROVAL):
        if card.payload.get("level", 0) == level and card.payload.get("approved_by") != list(approved_by):
            card.payload = {**card.payload, "approved_by": list(approved_by)}
            card.updated_at = ctx.now()
            shown.append(card)
    return shown


async def overtaken(ctx: Context, card: Card, order: Order) -> dict[str, Any] | None:
    """If someone acted before this card's tap (the card is closed once their change is delivered),
    what they did, as a card outcome; None while the card's buttons still apply."""
    if card.kind == CardKind.APPROVAL:
        level = card.payload.get("level", 0)
        if can(order, "approve"):
            if await approvals.open_level(ctx, order) in (None, level):
                return None
            step = await last_change(ctx, order, action="approve_step")
            return _outcome(step, action="approve") if step else {"status": REVIEW.value}
        return _outcome(await last_change(ctx, order, leaving=REVIEW)) or {"status": str(order.status)}
    if card.kind == CardKind.FIX:
        if order.status == OrderStatus.ON_HOLD:
            return None
        return _outcome(await last_change(ctx, order, leaving=OrderStatus.ON_HOLD)) or {"status": str(order.status)}
    stage = OrderStatus(card.payload.get("stage", order.status))
    if stage == order.status and stage in PICK_STEPS:
        return None
    return _outcome(await last_change(ctx, order, leaving=stage)) or {"status": str(order.status)}


def _outcome(change: AuditRecord | None, *, action: str | None = None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "action": action or change.action,
        "actor": change.actor,
        "at": change.created_at.isoformat(),
        "status": change.to_state,
        "reason": change.reason,
    }


async def _stop_clocks(ctx: Context, card: Card) -> None:
    """A closed approval card's reminders and escalation have nothing left to chase."""
    await cancel_keys(ctx, clock_key(REMIND, card), clock_key(ESCALATE, card))


def clock_key(kind: str, card: Card) -> str:
    """The timer key of one approval card's clock (``bot.workflows.timers`` starts them)."""
    return f"{kind}:{card.order_no}:{card.id}"


def render(card: Card, _: Translator, timezone: str) -> CardView:
    p = card.payload
    lines = ", ".join(f"{line['sku']} ×{line['qty']}" for line in p.get("lines", []))
    if card.kind == CardKind.APPROVAL:
        title = _("Approval needed: {order_no}", order_no=card.order_no)
        fields = [
            (_("Customer"), p["customer"]),
            (_("Total"), f"{money(p['total'])} {p.get('currency', '')}".strip()),
            (_("Payment"), payment(_, p.get("payment_terms", ""))),
            (_("Project contract"), p["project"]) if p.get("project") else (_("Lines"), lines),
        ]
        notes = [_("Why: {reason}", reason=review_reason(_, p["reason"]))] if p.get("reason") else []
        if p.get("levels", 1) > 1:
            notes.insert(0, _("Step {step} of {steps}", step=p.get("level", 0) + 1, steps=p["levels"]))
        if p.get("rule"):
            notes.append(_("Rule: {rule}", rule=p["rule"]))
        if p.get("approved_by"):
            notes.append(_("Approved so far: {names}", names=", ".join(p["approved_by"])))
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
    elif card.kind == CardKind.FIX:
        title = _("On hold: {order_no}", order_no=card.order_no)
        fields = [
            (_("Channel"), f"{p.get('channel', '')} {p.get('channel_order_no', '')}".strip()),
            (_("Customer"), p["customer"]),
            (_("Lines"), lines),
        ]
        notes = [_("Why: {reason}", reason=p["reason"])] if p.get("reason") else []
        mappings = p.get("mappings", [])
        notes += [_("{channel_sku} is probably {sku}", channel_sku=m["channel_sku"], sku=m["sku"]) for m in mappings]
        first = mappings[0] if mappings else None
        buttons = (
            [
                Button(
                    _("Map and check again"),
                    ActionId("map_skus", card.id, card.version).encode(),
                    "primary",
                    command=f"/mapsku {card.order_no} {first['channel_sku']} {first['sku']}",
                )
            ]
            if first
            else []
        )
    elif card.kind == CardKind.PARCEL:
        title, fields, notes, buttons = _parcel(card, _, timezone)
    elif card.kind == CardKind.CREDIT_NOTE:
        title, fields, notes, buttons = _credit_note(card, _)
    elif card.kind == CardKind.WORK_ORDER:
        title, fields, notes, buttons = _work_order(card, _)
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
        verb = BUTTON[PICK_STEPS.get(p.get("stage"), "pack")]
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
        outcome = describe_outcome(card.outcome, _, timezone)
    return CardView(card.id, str(card.kind), title, fields, notes, buttons, outcome, str(card.state), card.version)


def _parcel(card: Card, _: Translator, timezone: str) -> tuple[str, list, list[str], list[Button]]:
    """A shipment in exception: what the carrier said and the three ways to handle it."""
    p = card.payload
    title = _("Delivery problem: {order_no}", order_no=card.order_no)
    fields = [
        (_("Customer"), p["customer"]),
        (_("Carrier"), carrier_name(_, p.get("carrier", ""))),
        (_("Tracking number"), p.get("tracking_no", "")),
        (_("Reason"), exception_reason(_, p.get("reason"))),
    ]
    notes = []
    if p.get("last_event"):
        where = f"{p['location']} · " if p.get("location") else ""
        notes.append(_("Carrier's last word: {words}", words=where + p["last_event"]))
    if p.get("since"):
        notes.append(_("Since {time}", time=moment(p["since"], timezone)))
    buttons = [
        Button(_("Contacted the customer"), ActionId("contacted", card.id, card.version).encode(), "primary"),
        Button(
            _("Reship"),
            ActionId("reship", card.id, card.version).encode(),
            confirm={
                "title": _("Reship {order_no}?", order_no=card.order_no),
                "text": _("A replacement order at no charge sends this parcel's goods again."),
                "yes": _("Reship"),
                "no": _("Cancel"),
            },
        ),
        Button(
            _("Open a return"),
            ActionId("open_return", card.id, card.version).encode(),
            command=f"/return {card.order_no} "
            + " ".join(f"{line['sku']}*{line['qty']}" for line in p.get("lines", []))
            + " "
            + _("reason"),
        ),
    ]
    return title, fields, notes, buttons


def _credit_note(card: Card, _: Translator) -> tuple[str, list, list[str], list[Button]]:
    """A period's rebate settled as a credit note, for finance to approve or reject."""
    p = card.payload
    title = _("Credit note to approve: {note_no}", note_no=card.order_no)
    fields = [
        (_("Customer"), f"{p['customer']} ({p['customer_code']})"),
        (_("Period"), p.get("period", "")),
        (_("Net sales"), money(p["net_sales"])),
        (_("Rate"), f"{Decimal(p['rate']).normalize():f}%"),
        (_("Amount"), f"{money(p['total'])} {p.get('currency', '')}".strip()),
    ]
    notes = [_("Agreement: {agreement}", agreement=p.get("agreement", ""))]
    buttons = [
        Button(
            _("Approve"),
            ActionId("approve_credit", card.id, card.version).encode(),
            "primary",
            command=f"/creditnote {card.order_no} approve",
        ),
        Button(
            _("Reject"),
            ActionId("reject_credit", card.id, card.version).encode(),
            "danger",
            confirm={
                "title": _("Reject {note_no}?", note_no=card.order_no),
                "text": _("The rebate stays unsettled; it can be settled again."),
                "yes": _("Reject"),
                "no": _("Cancel"),
            },
            command=f"/creditnote {card.order_no} reject " + _("reason"),
        ),
    ]
    return title, fields, notes, buttons


# A work-order card's button for the step after each state (``core.production.lifecycle``).
WORK_ORDER_STEPS = {
    "planned": ("mo_release", N_("Release"), "release"),
    "released": ("mo_start", N_("Start"), "start"),
    "in_progress": ("mo_done", N_("Done"), "done"),
}


def _work_order(card: Card, _: Translator) -> tuple[str, list, list[str], list[Button]]:
    p = card.payload
    title = _("Work order {mo_no}", mo_no=p.get("mo_no", ""))
    fields = [
        (_("Order"), card.order_no),
        (_("Customer"), p["customer"]),
        (_("Product"), f"{p.get('sku', '')} {p.get('name', '')} ×{p.get('qty', '')}"),
        (_("Warehouse"), p.get("warehouse", "")),
        (_("Stage"), work_order_status(_, p.get("stage", ""))),
    ]
    notes = []
    for m in p.get("materials", []):
        note = _(
            "{sku}: {reserved} of {required} reserved", sku=m["sku"], reserved=m["reserved"], required=m["required"]
        )
        if m.get("made"):
            note += " · " + _("{made} made here", made=m["made"])
        notes.append(note)
    buttons = []
    if p.get("stage") in WORK_ORDER_STEPS:
        verb, label, word = WORK_ORDER_STEPS[p["stage"]]
        buttons.append(
            Button(
                _(label), ActionId(verb, card.id, card.version).encode(), "primary", command=f"/mo {word} {p['mo_no']}"
            )
        )
    return title, fields, notes, buttons


# How a parcel card was closed (``bot.parcels``): by someone handling it, or by the carrier.
PARCEL_DONE = {
    "customer_contacted": N_("Customer contacted by {actor} at {time}"),
    "reship": N_("Reshipped as {result} by {actor} at {time}"),
    "return_opened": N_("Return {result} opened by {actor} at {time}"),
}


def describe_outcome(outcome: dict[str, Any] | None, _: Translator, timezone: str) -> str:
    o = outcome or {}
    time = clock(o["at"], timezone) if o.get("at") else ""
    if o.get("action") in PARCEL_DONE:
        return _(PARCEL_DONE[o["action"]], actor=o.get("actor"), time=time, result=o.get("result") or "")
    if o.get("action") == "moving":
        return _(
            "Closed: the parcel is moving again ({status}, {time})",
            status=shipment_status(_, o.get("status", "")),
            time=time,
        )
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
