"""The workflow's timers: nudging a stalled approval, then escalating it.

Each handler checks the order again before it acts: an order approved (or edited, or cancelled)
meanwhile gets no nudge, because the approval request the timer belongs to has ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.cards import ESCALATE, REMIND, clock_key
from bot.delivery import approvers, tell
from bot.models import Card, CardKind, CardState
from bot.workflows.schema import Rule, parse_duration
from core.context import Context
from core.orders.models import Order
from core.orders.status import OrderStatus
from core.timers.service import Handler, schedule


async def schedule_for_approval(ctx: Context, card: Card, rule: Rule | None, approvers: dict[str, Any]) -> None:
    """Start the rule's clocks when its approval card goes out (in the same transaction)."""
    if rule is None:
        return
    base = {"order_no": card.order_no, "card_id": card.id, "rule": rule.name}
    if rule.remind_after:
        await schedule(
            ctx,
            REMIND,
            clock_key(REMIND, card),
            ctx.now() + parse_duration(rule.remind_after),
            **base,
            target=approvers,
        )
    if rule.escalate_after and rule.escalate_to:
        await schedule(
            ctx,
            ESCALATE,
            clock_key(ESCALATE, card),
            ctx.now() + parse_duration(rule.escalate_after),
            **base,
            target=rule.escalate_to.model_dump(mode="json", exclude_none=True),
        )


async def _still_waiting(ctx: Context, payload: dict[str, Any]) -> Card | None:
    """The approval card, if its request is still open and the order still waits for it."""
    card = await ctx.session.get(Card, payload["card_id"])
    if card is None or card.kind != CardKind.APPROVAL or card.state != CardState.OPEN:
        return None
    status = await ctx.session.scalar(select(Order.status).where(Order.order_no == payload["order_no"]))
    return card if status == OrderStatus.PENDING_APPROVAL else None


async def remind(ctx: Context, payload: dict[str, Any]) -> None:
    card = await _still_waiting(ctx, payload)
    if card is None:
        return
    people = await approvers(ctx, payload.get("target") or {"role": "approver"})
    tell(ctx, people, "Reminder: {order_no} still waits for your approval.", order_no=card.order_no)
    tell(ctx, people, "", card=card)


async def escalate(ctx: Context, payload: dict[str, Any]) -> None:
    card = await _still_waiting(ctx, payload)
    if card is None:
        return
    people = await approvers(ctx, payload["target"])
    tell(
        ctx,
        people,
        "Escalated to you: {order_no} has waited too long for approval (rule {rule}).",
        order_no=card.order_no,
        rule=payload.get("rule", ""),
    )
    tell(ctx, people, "", card=card)


HANDLERS: dict[str, Handler] = {REMIND: remind, ESCALATE: escalate}
