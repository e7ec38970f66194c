"""Cards follow their orders: opened when review or picking starts, kept in step as the order moves,
and every platform copy edited once per change."""

from __future__ import annotations

from bot.cards import close_level, open_card, show_progress, sync_cards
from bot.delivery import approvers, card_changed, tell, users_with_role
from bot.models import Card, CardKind
from bot.reactions.orders import event_order
from bot.workflows.store import rule_named
from bot.workflows.timers import schedule_for_approval
from core.context import Context
from core.events.catalogue import (
    ApprovalProgressed,
    ApprovalRequested,
    ApprovalStepCompleted,
    OrderReadyToPick,
    OrderStatusChanged,
)
from core.orders.lifecycle import can


async def _edited(ctx: Context, cards: list[Card]) -> None:
    for card in cards:
        await card_changed(ctx, card)


async def follow_status(ctx: Context, event: OrderStatusChanged) -> None:
    order = await event_order(ctx, event.order_no)
    if order is not None:
        await _edited(ctx, await sync_cards(ctx, order, event))


async def open_approval(ctx: Context, event: ApprovalRequested) -> None:
    order = await event_order(ctx, event.order_no)
    if order is None or not can(order, "approve"):  # reviewed (or edited) before this was delivered
        return
    card = open_card(
        ctx,
        CardKind.APPROVAL,
        order,
        reason=event.reason,
        rule=event.rule,
        level=event.level,
        levels=event.levels,
    )
    await ctx.session.flush()
    tell(ctx, await approvers(ctx, event.approvers), "", card=card)
    if event.rule:
        await schedule_for_approval(ctx, card, await rule_named(ctx, event.rule), event.approvers)


async def show_approvals_so_far(ctx: Context, event: ApprovalProgressed) -> None:
    order = await event_order(ctx, event.order_no)
    if order is not None:
        await _edited(ctx, await show_progress(ctx, order.id, event.level, event.approved_by))


async def close_step(ctx: Context, event: ApprovalStepCompleted) -> None:
    """One step of a several-step approval is complete: its cards close; the next step has its own."""
    order = await event_order(ctx, event.order_no)
    if order is not None:
        await _edited(ctx, await close_level(ctx, order.id, event.level, actor=event.actor, at=event.at))


async def open_pick(ctx: Context, event: OrderReadyToPick) -> None:
    order = await event_order(ctx, event.order_no)
    if order is None:
        return
    warehouses = set(event.warehouses)
    card = open_card(ctx, CardKind.PICK, order, warehouses=sorted(warehouses))
    await ctx.session.flush()
    staff = [u for u in await users_with_role(ctx, "warehouse") if set(u.warehouses or []) & warehouses]
    tell(ctx, staff, "", card=card)
