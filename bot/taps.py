"""A tap on a card button: exactly one transition, however many taps arrive.

The reply is text only: the card itself changes in place on every recipient's timeline, when the
change the tap made is delivered (``bot.cards.sync_cards``, the one place cards follow orders).

The card row is locked for the tap's transaction (SQLite's write lock does the same), so of two
approvers tapping at once the second finds the order already moved on (``overtaken``) and is told
who acted first; a tap carrying an older order version than the card is refused as stale.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from bot import parcels, production
from bot.actions import ActionId
from bot.cards import describe_outcome, overtaken
from bot.i18n import N_
from bot.models import Card, CardKind, CardState
from bot.reactions.orders import hold
from bot.router import Chat
from bot.views import Reply
from core.channels import fixes
from core.context import Context
from core.errors import ConcurrencyConflict
from core.orders import confirmation, fulfilment
from core.orders.repository import load_order
from core.rebates import settlement

# Built once: it runs on every tap (a statement's construction costs more than its SQLite time).
_CARD_LOCKED = select(Card).where(Card.id == bindparam("card_id")).with_for_update()
PERFORM = {
    "approve": lambda ctx, no, v: confirmation.approve(ctx, no, expected_version=v),
    "reject": lambda ctx, no, v: confirmation.reject(ctx, no, "rejected on the approval card", expected_version=v),
    "picked": lambda ctx, no, v: fulfilment.start_picking(ctx, no, expected_version=v),
    "packed": lambda ctx, no, v: fulfilment.pack(ctx, no, expected_version=v),
}
DONE_TEXT = {
    "approve": N_("Approved {order_no}."),
    "reject": N_("Rejected {order_no}."),
    "picked": N_("{order_no} is picked."),
    "packed": N_("{order_no} is packed."),
    "map_skus": N_("{order_no}: the SKUs are mapped and it was checked again."),
    "contacted": N_("{order_no}: noted that you contacted the customer; the card is closed."),
    "reship": N_("{order_no}: the replacement order {result} sends the goods again."),
    "open_return": N_("{order_no}: return {result} is open."),
    "approve_credit": N_("Approved credit note {order_no}."),
    "reject_credit": N_("Rejected credit note {order_no}."),
    "mo_release": N_("{order_no} is released to production."),
    "mo_start": N_("{order_no} is in production."),
    "mo_done": N_("{order_no} is done; its goods are in stock for the order."),
}
CREDIT_NOTE = {
    "approve_credit": lambda ctx, no: settlement.decide(ctx, no, approve=True),
    "reject_credit": lambda ctx, no: settlement.decide(ctx, no, approve=False, reason="rejected on the card"),
}


async def tap(chat: Chat, card_id: int, action_text: str) -> list[Reply]:
    try:
        action = ActionId.decode(action_text)
    except ValueError:
        return chat.say("That button is not valid any more.")
    if action.card_id != card_id:
        return chat.say("That button is not valid any more.")

    async def run(ctx: Context) -> list[Reply]:
        card = (await ctx.session.scalars(_CARD_LOCKED, {"card_id": card_id})).one_or_none()
        if card is None:
            return chat.say("That card no longer exists.")
        if card.state == CardState.OPEN and action.version != card.version and card.kind == CardKind.WORK_ORDER:
            return chat.say(
                "This card is out of date: {mo_no} changed. Send /mo {mo_no} to see it now.",
                mo_no=card.payload["mo_no"],
            )
        if card.state == CardState.OPEN and action.version != card.version:
            return chat.say(
                "This card is out of date: {order_no} changed. Send /order {order_no} to see it now.",
                order_no=card.order_no,
            )
        if card.state == CardState.CLOSED:
            earlier = card.outcome
        elif card.kind == CardKind.CREDIT_NOTE:  # the card closes when the decision is delivered
            if action.verb not in CREDIT_NOTE:
                return chat.say("That button is not valid any more.")
            note = await settlement.credit_note(ctx, card.order_no, for_update=True)
            if note.decided_at is not None:
                earlier = {
                    "action": "approve" if note.status == "approved" else "reject",
                    "actor": note.decided_by,
                    "at": note.decided_at.isoformat(),
                }
                outcome = describe_outcome(earlier, chat._, ctx.settings.timezone)
                return [Reply(text=chat._("Already done: {outcome}", outcome=outcome))]
            await CREDIT_NOTE[action.verb](ctx, card.order_no)
            return [Reply(text=chat._(DONE_TEXT[action.verb], order_no=card.order_no))]
        elif card.kind == CardKind.PARCEL:
            earlier = await parcels.overtaken(ctx, card)
        elif card.kind == CardKind.WORK_ORDER:
            earlier = await production.overtaken(ctx, card)
        else:
            # Locked with its lines and customer: the change the tap makes takes it from here (not
            # read again), and so do the change's reactions.
            order = await load_order(ctx, card.order_no, for_update=True)
            hold(ctx, order)
            earlier = await overtaken(ctx, card, order)
        if earlier is not None:
            outcome = describe_outcome(earlier, chat._, ctx.settings.timezone)
            return [Reply(text=chat._("Already done: {outcome}", outcome=outcome))]
        if card.kind == CardKind.PARCEL:  # the card closes here: no order move would close it
            if action.verb not in parcels.PERFORM:
                return chat.say("That button is not valid any more.")
            result = await parcels.perform(ctx, card, action.verb)
            return [Reply(text=chat._(DONE_TEXT[action.verb], order_no=card.order_no, result=result or ""))]
        if card.kind == CardKind.WORK_ORDER:  # the card follows its work order when the step is delivered
            if action.verb not in production.PERFORM:
                return chat.say("That button is not valid any more.")
            await production.perform(ctx, card, action.verb)
            return [Reply(text=chat._(DONE_TEXT[action.verb], order_no=card.payload["mo_no"]))]
        if action.verb in parcels.PERFORM or action.verb in production.PERFORM or action.verb in CREDIT_NOTE:
            return chat.say("That button is not valid any more.")
        if action.verb == "map_skus":  # the fixes the card showed, whatever the order's version
            mappings = {m["channel_sku"]: m["sku"] for m in card.payload.get("mappings", [])}
            await fixes.map_skus(ctx, card.order_no, mappings)
        else:
            await PERFORM[action.verb](ctx, card.order_no, card.version)
        return [Reply(text=chat._(DONE_TEXT[action.verb], order_no=card.order_no))]  # the card updates in place

    try:
        return await chat.services.run(chat.actor, run)
    except ConcurrencyConflict:
        return chat.say("This card is out of date: the order changed. Send /order to see it now.")
