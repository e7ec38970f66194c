"""A milestone past its due date and still not accepted reminds the salesperson, then escalates
to the managers, on durable timers.

Both timers are set when the milestone is added: the reminder the morning after its due date
(09:00 local), the escalation ``milestone_escalate_days`` later. Accepting the milestone cancels
them; each handler looks at the milestone again when it fires, so one accepted (or a contract
cancelled) meanwhile raises nothing. A rejected invoice puts the milestone back to pending with
fresh timers (their keys carry the milestone's round).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.context import Context
from core.contracts.models import Milestone, MilestoneStatus
from core.events.catalogue import MilestoneOverdue
from core.events.store import record
from core.orders.models import Order
from core.orders.status import OrderStatus
from core.timers.service import cancel, schedule_many

REMIND = "milestone.remind"
ESCALATE = "milestone.escalate"
# Contracts whose milestones still matter: entered, in review or running.
LIVE = (OrderStatus.RECEIVED, OrderStatus.PENDING_APPROVAL, OrderStatus.CONFIRMED)


def _prefix(order_no: str, seq: int) -> str:
    return f"milestone:{order_no}:{seq}:"


async def watch(ctx: Context, order: Order, milestone: Milestone) -> None:
    zone = ZoneInfo(ctx.settings.timezone)
    remind_at = datetime.combine(milestone.due_on + timedelta(days=1), time(9, 0), zone)
    # A milestone reopened after its due date is reminded of at once (the next tick), not never.
    remind_at = max(remind_at, ctx.now())
    escalate_at = remind_at + timedelta(days=ctx.settings.milestone_escalate_days)
    payload = {"order_no": order.order_no, "seq": milestone.seq, "round": milestone.round}
    key = f"{_prefix(order.order_no, milestone.seq)}{milestone.round}"
    await schedule_many(
        ctx, [(REMIND, f"{key}:remind", remind_at, payload), (ESCALATE, f"{key}:escalate", escalate_at, payload)]
    )


async def forget(ctx: Context, order: Order, milestone: Milestone) -> None:
    await cancel(ctx, _prefix(order.order_no, milestone.seq))


async def _still_due(ctx: Context, payload: dict[str, Any]) -> tuple[Order, Milestone] | None:
    row = (
        await ctx.session.execute(
            select(Order, Milestone)
            .join(Milestone, Milestone.order_id == Order.id)
            .where(Order.order_no == payload["order_no"], Milestone.seq == payload["seq"])
        )
    ).one_or_none()
    if row is None:
        return None
    order, milestone = row
    if milestone.status != MilestoneStatus.PENDING or milestone.round != payload.get("round", 0):
        return None
    return (order, milestone) if order.status in LIVE else None


async def _raise(ctx: Context, payload: dict[str, Any], *, escalated: bool) -> None:
    found = await _still_due(ctx, payload)
    if found is None:
        return
    order, milestone = found
    record(
        ctx,
        MilestoneOverdue(
            order_no=order.order_no,
            seq=milestone.seq,
            milestone=milestone.name,
            amount=milestone.amount,
            due_on=milestone.due_on,
            escalated=escalated,
            at=ctx.now(),
        ),
    )


async def remind(ctx: Context, payload: dict[str, Any]) -> None:
    await _raise(ctx, payload, escalated=False)


async def escalate(ctx: Context, payload: dict[str, Any]) -> None:
    await _raise(ctx, payload, escalated=True)


HANDLERS = {REMIND: remind, ESCALATE: escalate}
