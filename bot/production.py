"""Work-order cards: one live card per work order for the production leads, with its next step.

The card opens when the work order is planned, follows it as it is released, started and adjusted
(its buttons act on the work order's version, so a tap on an out-of-date card is refused), and
closes when it is done or cancelled, saying who did it. A tap runs under the card's row lock and
re-checks the work order first (``overtaken``), so of two leads tapping at once one acts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.cards import card_values
from bot.delivery import card_changed, tell, users_by_id, users_with_role
from bot.i18n import N_
from bot.models import Card, CardKind, CardState
from core.audit.models import AuditRecord
from core.context import Context
from core.events.catalogue import (
    WorkOrderAdjusted,
    WorkOrderCancelled,
    WorkOrderDone,
    WorkOrderMaterialsReady,
    WorkOrderPlanned,
    WorkOrderReleased,
    WorkOrderStarted,
)
from core.orders.repository import find_order
from core.production import service
from core.production.models import WorkOrder, WorkOrderStatus

# The card's verbs, the service each runs, and the work-order state it acts from.
PERFORM = {"mo_release": service.release, "mo_start": service.start, "mo_done": service.finish}
LEADS = "production"


async def _work_order(ctx: Context, mo_no: str) -> WorkOrder | None:
    stmt = service.planning.select_work_orders().where(WorkOrder.mo_no == mo_no)
    return (await ctx.session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()


async def _cards(ctx: Context, mo_no: str) -> list[Card]:
    rows = await ctx.session.scalars(
        select(Card)
        .where(Card.kind == CardKind.WORK_ORDER, Card.state == CardState.OPEN)
        .order_by(Card.id)
        .with_for_update()
    )
    return [card for card in rows if card.payload.get("mo_no") == mo_no]


async def open_card_of(ctx: Context, mo_no: str) -> int | None:
    """The open card of a work order, for ``/mo MO-…`` to show."""
    cards = await _cards(ctx, mo_no.strip().upper())
    return cards[0].id if cards else None


async def _details(ctx: Context, work_order: WorkOrder) -> dict[str, Any]:
    d = await service.describe(ctx, work_order)
    return {
        "mo_no": d["mo_no"],
        "stage": d["status"],
        "sku": d["sku"],
        "name": d["name"],
        "qty": d["qty"],
        "warehouse": d["warehouse"],
        "materials": [{k: m[k] for k in ("sku", "required", "reserved", "made")} for m in d["materials"]],
    }


async def on_planned(ctx: Context, event: WorkOrderPlanned) -> None:
    work_order = await _work_order(ctx, event.mo_no)
    order = await find_order(ctx, event.order_no)
    if work_order is None or order is None or await _cards(ctx, event.mo_no):
        return
    card = Card(**card_values(ctx, CardKind.WORK_ORDER, order, **await _details(ctx, work_order)))
    card.version = work_order.version
    ctx.session.add(card)
    await ctx.session.flush()
    tell(ctx, await users_with_role(ctx, LEADS), "", card=card)


async def _follow(ctx: Context, mo_no: str) -> None:
    work_order = await _work_order(ctx, mo_no)
    if work_order is None:
        return
    details = await _details(ctx, work_order)
    for card in await _cards(ctx, mo_no):
        if card.version == work_order.version and card.payload == {**card.payload, **details}:
            continue  # delivered before
        card.payload = {**card.payload, **details}
        card.version = work_order.version
        card.updated_at = ctx.now()
        await card_changed(ctx, card)


async def on_materials_ready(ctx: Context, event: WorkOrderMaterialsReady) -> None:
    await _follow(ctx, event.mo_no)
    tell(
        ctx,
        await users_with_role(ctx, LEADS),
        N_("Every material of {mo_no} ({qty} {sku} for {order_no}) is on the shelves: it can start."),
        mo_no=event.mo_no,
        qty=event.qty,
        sku=event.sku,
        order_no=event.order_no,
    )


async def on_released(ctx: Context, event: WorkOrderReleased) -> None:
    await _follow(ctx, event.mo_no)


async def on_started(ctx: Context, event: WorkOrderStarted) -> None:
    await _follow(ctx, event.mo_no)


async def on_adjusted(ctx: Context, event: WorkOrderAdjusted) -> None:
    await _follow(ctx, event.mo_no)
    tell(
        ctx,
        await users_with_role(ctx, LEADS),
        N_("{mo_no} for {order_no} now makes {qty} {sku} (was {from_qty}); its materials are re-planned."),
        mo_no=event.mo_no,
        order_no=event.order_no,
        qty=event.qty,
        sku=event.sku,
        from_qty=event.from_qty,
    )


async def _close(ctx: Context, mo_no: str, outcome: dict[str, Any]) -> None:
    work_order = await _work_order(ctx, mo_no)
    for card in await _cards(ctx, mo_no):
        card.state = CardState.CLOSED
        card.outcome = outcome
        if work_order is not None:
            card.payload = {**card.payload, **await _details(ctx, work_order)}
        card.updated_at = ctx.now()
        await card_changed(ctx, card)


async def on_done(ctx: Context, event: WorkOrderDone) -> None:
    await _close(
        ctx,
        event.mo_no,
        {"action": "finish", "actor": event.actor, "at": event.at.isoformat(), "status": WorkOrderStatus.DONE.value},
    )
    order = await find_order(ctx, event.order_no)
    if order is not None and order.salesperson_id:
        tell(
            ctx,
            await users_by_id(ctx, [order.salesperson_id]),
            N_("{mo_no} is done: {qty} {sku} made for {order_no}."),
            mo_no=event.mo_no,
            qty=event.qty,
            sku=event.sku,
            order_no=event.order_no,
        )


async def on_cancelled(ctx: Context, event: WorkOrderCancelled) -> None:
    """The production leads are told (and the salesperson, when a lead called it off)."""
    await _close(
        ctx,
        event.mo_no,
        {
            "action": "cancel",
            "actor": event.actor,
            "at": event.at.isoformat(),
            "status": WorkOrderStatus.CANCELLED.value,
            "reason": event.reason,
        },
    )
    params = {"mo_no": event.mo_no, "order_no": event.order_no, "qty": event.qty, "sku": event.sku}
    readers = {u.id: u for u in await users_with_role(ctx, LEADS)}
    order = await find_order(ctx, event.order_no)
    if order is not None and order.salesperson_id:
        readers.update((u.id, u) for u in await users_by_id(ctx, [order.salesperson_id]))
    text = N_("{mo_no} ({qty} {sku} for {order_no}) is cancelled: {reason}. Its materials are released.")
    tell(ctx, list(readers.values()), text, reason=event.reason, **params)


async def overtaken(ctx: Context, card: Card) -> dict[str, Any] | None:
    """What happened to the work order since the card was shown, as an outcome; None while it applies."""
    work_order = await _work_order(ctx, card.payload["mo_no"])
    if work_order is None:
        return {"action": "cancel", "status": "gone"}
    if str(work_order.status) == card.payload.get("stage"):
        return None
    last = (
        await ctx.session.scalars(
            select(AuditRecord)
            .where(AuditRecord.entity == "work_order", AuditRecord.entity_key == work_order.mo_no)
            .order_by(AuditRecord.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if last is None:
        return {"action": "adjust", "status": str(work_order.status)}
    return {
        "action": last.action,
        "actor": last.actor,
        "at": last.created_at.isoformat(),
        "status": last.to_state,
        "reason": last.reason,
    }


async def perform(ctx: Context, card: Card, verb: str) -> None:
    """Run the tapped step on the version the card showed; the card follows when the event is delivered."""
    await PERFORM[verb](ctx, card.payload["mo_no"], expected_version=card.version)
