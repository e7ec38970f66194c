"""Who hears what about project contracts: approvers about a milestone invoice to approve, the
salesperson (and finance) about an invoice issued or turned down, the salesperson about an overdue
milestone and the managers when it is escalated."""

from __future__ import annotations

from bot.delivery import approvers, tell, users_by_id, users_with_role
from bot.labels import money
from bot.reactions.orders import event_order
from core.context import Context
from core.events.catalogue import MilestoneApprovalRequested, MilestoneInvoiced, MilestoneOverdue, MilestoneRejected


async def _salesperson(ctx: Context, order_no: str) -> list:
    order = await event_order(ctx, order_no)
    return await users_by_id(ctx, [order.salesperson_id]) if order is not None else []


async def on_approval_requested(ctx: Context, event: MilestoneApprovalRequested) -> None:
    tell(
        ctx,
        await approvers(ctx, event.approvers),
        "{order_no} milestone {seq} ({name}, {amount}) was accepted; its invoice waits for your approval: "
        "/milestone {order_no} {seq} approve (or reject with a reason).",
        order_no=event.order_no,
        seq=event.seq,
        name=event.milestone,
        amount=money(event.amount),
    )


async def on_invoiced(ctx: Context, event: MilestoneInvoiced) -> None:
    params = {
        "order_no": event.order_no,
        "seq": event.seq,
        "name": event.milestone,
        "amount": money(event.amount),
        "invoice_no": event.invoice_no,
    }
    message = "{order_no} milestone {seq} ({name}) is invoiced: {invoice_no} for {amount}."
    tell(ctx, await _salesperson(ctx, event.order_no), message, **params)
    tell(ctx, await users_with_role(ctx, "finance"), message, **params)


async def on_rejected(ctx: Context, event: MilestoneRejected) -> None:
    tell(
        ctx,
        await _salesperson(ctx, event.order_no),
        "{order_no} milestone {seq} ({name}) was not invoiced: {actor} rejected it ({reason}).",
        order_no=event.order_no,
        seq=event.seq,
        name=event.milestone,
        actor=event.actor,
        reason=event.reason,
    )


async def on_overdue(ctx: Context, event: MilestoneOverdue) -> None:
    params = {
        "order_no": event.order_no,
        "seq": event.seq,
        "name": event.milestone,
        "amount": money(event.amount),
        "due_on": event.due_on.isoformat(),
    }
    if event.escalated:
        tell(
            ctx,
            await users_with_role(ctx, "manager"),
            "Escalated to you: {order_no} milestone {seq} ({name}, {amount}) was due {due_on} "
            "and is still not accepted.",
            **params,
        )
        return
    tell(
        ctx,
        await _salesperson(ctx, event.order_no),
        "Reminder: {order_no} milestone {seq} ({name}, {amount}) was due {due_on} and is not accepted yet.",
        **params,
    )
