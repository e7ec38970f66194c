"""Who hears what: turns committed domain events into timeline entries and cards.

Events are claimed with a conditional UPDATE (``processed_at IS NULL``), so two server processes
never deliver the same event twice, and delivery happens in the transaction that claims them:
either the messages exist and the event is marked, or neither.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from bot.cards import close_level, open_card, sync_cards
from bot.delivery import approvers, card_changed, customer_users, enqueue, tell, users_by_id, users_with_role
from bot.i18n import DEFAULT_BY_PLATFORM, N_, Translator
from bot.labels import money
from bot.models import CardKind
from bot.workflows.review import facts, holds
from bot.workflows.schema import Trigger
from bot.workflows.store import rule_named, rules_for
from bot.workflows.timers import schedule_for_approval
from core.audit.models import DomainEvent
from core.auth import Actor
from core.context import Context
from core.orders.models import Order
from core.services import Services

log = logging.getLogger(__name__)
BATCH = 200
SALES_HEARS = {"confirmed", "rejected", "on_hold", "backordered", "allocated", "cancelled", "delivered"}
CUSTOMER_HEARS = {"confirmed", "cancelled", "delivered"}


async def deliver_pending(services: Services) -> int:
    """Deliver every undelivered event; returns how many were handled."""
    async with services.reading() as session:  # the usual answer is "nothing", without the write lock
        if await session.scalar(select(DomainEvent.id).where(DomainEvent.processed_at.is_(None)).limit(1)) is None:
            return 0
    handled = 0
    while True:
        async with services.unit_of_work(Actor.system("notifier")) as ctx:
            events = await _claim(ctx)
            for event in events:
                try:
                    async with ctx.session.begin_nested():
                        await _deliver(ctx, event)
                except Exception:  # one bad event must not block the others; it stays marked, logged
                    log.exception("could not deliver event %s %s", event.id, event.name)
        handled += len(events)
        if len(events) < BATCH:
            return handled


async def _claim(ctx: Context) -> list[DomainEvent]:
    ids = list(
        await ctx.session.scalars(
            select(DomainEvent.id).where(DomainEvent.processed_at.is_(None)).order_by(DomainEvent.id).limit(BATCH)
        )
    )
    if not ids:
        return []
    claimed = await ctx.session.execute(
        update(DomainEvent)
        .where(DomainEvent.id.in_(ids), DomainEvent.processed_at.is_(None))
        .values(processed_at=ctx.now())
        .returning(DomainEvent.id)
        .execution_options(synchronize_session=False)
    )
    mine = sorted(row[0] for row in claimed)
    return list(await ctx.session.scalars(select(DomainEvent).where(DomainEvent.id.in_(mine)).order_by(DomainEvent.id)))


async def _deliver(ctx: Context, event: DomainEvent) -> None:
    payload = {**event.payload, "at": event.created_at.isoformat()}
    handler = HANDLERS.get(event.name)
    if handler is not None:
        await handler(ctx, payload)
    await run_notify_rules(ctx, event.name, payload)


def _trigger(event_name: str, payload: dict[str, Any]) -> Trigger | None:
    if event_name == "order.status_changed":
        return Trigger.ORDER_CONFIRMED if payload.get("to_status") == "confirmed" else None
    return {
        "order.received": Trigger.ORDER_RECEIVED,
        "stock.low": Trigger.STOCK_LOW,
        "shipment.exception": Trigger.SHIPMENT_EXCEPTION,
        "payment.overdue": Trigger.PAYMENT_OVERDUE,
    }.get(event_name)


async def run_notify_rules(ctx: Context, event_name: str, payload: dict[str, Any]) -> None:
    """``notify:`` steps of workflow rules whose trigger this event is and whose condition holds."""
    trigger = _trigger(event_name, payload)
    if trigger is None:
        return
    rules = [rule for rule in await rules_for(ctx, trigger) if rule.notify]
    if not rules:
        return
    order = await _order(ctx, payload["order_no"]) if payload.get("order_no") else None
    activation = {**(facts(order) if order else {}), "event": {k: v for k, v in payload.items() if v is not None}}
    subject = payload.get("order_no") or payload.get("sku") or ""
    for rule in rules:
        if not holds(rule, activation):
            continue
        for target in rule.notify:
            if target.message:
                text, params = f"{rule.name}: {target.message} ({subject})", {}
            else:
                text, params = (
                    N_("Rule {rule}: {event} {subject}"),
                    {"rule": rule.name, "event": trigger.value, "subject": subject},
                )
            if target.chat:
                platform, chat_id = target.chat.split(":", 1)
                message = Translator(DEFAULT_BY_PLATFORM.get(platform, "en"))(text, **params)
                enqueue(ctx, platform, chat_id, "send", {"text": message})
                continue
            who = target.model_dump(mode="json", exclude_none=True, exclude={"message", "chat"})
            tell(ctx, await approvers(ctx, who), text, **params)


async def _order(ctx: Context, order_no: str) -> Order | None:
    return (
        await ctx.session.scalars(
            select(Order)
            .where(Order.order_no == order_no)
            .options(selectinload(Order.lines), selectinload(Order.customer))
        )
    ).one_or_none()


# --- handlers ---------------------------------------------------------------------------------


async def on_status_changed(ctx: Context, event: dict[str, Any]) -> None:
    order = await _order(ctx, event["order_no"])
    if order is None:
        return
    await ctx.session.flush()
    changed = await sync_cards(
        ctx,
        order,
        trigger=event["trigger"],
        actor=event.get("actor") or "system",
        at=event.get("at") or ctx.now().isoformat(),
        reason=event.get("reason"),
    )
    for card in changed:
        await card_changed(ctx, card)
    to = event["to_status"]
    params = {"order_no": order.order_no, "total": money(order.total)}
    actor_id = event.get("actor_id")
    if to in SALES_HEARS and order.salesperson_id:
        sales = await users_by_id(ctx, [order.salesperson_id])
        tell(
            ctx,
            sales,
            _SALES_TEXT.get(to, "{order_no} is now {status}"),
            skip=actor_id,
            status=to,
            reason=event.get("reason") or "",
            **params,
        )
    if to in CUSTOMER_HEARS:
        tell(ctx, await customer_users(ctx, order.customer_id), _CUSTOMER_TEXT[to], skip=actor_id, **params)


_SALES_TEXT = {
    "confirmed": N_("{order_no} was confirmed."),
    "rejected": N_("{order_no} was rejected: {reason}"),
    "on_hold": N_("{order_no} is on hold: {reason}"),
    "backordered": N_("{order_no} waits for stock ({reason}); a purchase request is raised."),
    "allocated": N_("{order_no} has its stock reserved."),
    "cancelled": N_("{order_no} was cancelled: {reason}"),
    "delivered": N_("{order_no} was delivered."),
}
_CUSTOMER_TEXT = {
    "confirmed": N_("Your order {order_no} is confirmed (total {total})."),
    "cancelled": N_("Your order {order_no} was cancelled."),
    "delivered": N_("Your order {order_no} was delivered. Thank you!"),
}


async def on_approval_requested(ctx: Context, event: dict[str, Any]) -> None:
    order = await _order(ctx, event["order_no"])
    if order is None or order.status != "pending_approval":
        return
    await ctx.session.flush()
    target = event.get("approvers") or {"role": "approver"}
    level, levels = event.get("level", 0), event.get("levels", 1)
    card = open_card(
        ctx, CardKind.APPROVAL, order, reason=event.get("reason"), rule=event.get("rule"), level=level, levels=levels
    )
    await ctx.session.flush()
    tell(ctx, await approvers(ctx, target), "", card=card)
    if event.get("rule"):
        await schedule_for_approval(ctx, card, await rule_named(ctx, event["rule"]), target)


async def on_level_done(ctx: Context, event: dict[str, Any]) -> None:
    """One step of a several-step approval is complete: its cards close; the next step has its own."""
    for card in await close_level(ctx, event["order_no"], event["level"], actor=event["actor"], at=event["at"]):
        await card_changed(ctx, card)


async def on_ready_to_pick(ctx: Context, event: dict[str, Any]) -> None:
    order = await _order(ctx, event["order_no"])
    if order is None:
        return
    await ctx.session.flush()
    warehouses = set(event.get("warehouses") or [])
    card = open_card(ctx, CardKind.PICK, order, warehouses=sorted(warehouses))
    await ctx.session.flush()
    staff = [u for u in await users_with_role(ctx, "warehouse") if set(u.warehouses or []) & warehouses]
    tell(ctx, staff, "", card=card)


async def on_shipped(ctx: Context, event: dict[str, Any]) -> None:
    order = await _order(ctx, event["order_no"])
    if order is None:
        return
    params = {"order_no": order.order_no, "carrier": event["carrier"], "tracking_no": event["tracking_no"]}
    tell(
        ctx,
        await customer_users(ctx, order.customer_id),
        "Your order {order_no} has shipped with {carrier}, tracking number {tracking_no}.",
        **params,
    )
    tell(
        ctx,
        await users_by_id(ctx, [order.salesperson_id]),
        "{order_no} shipped with {carrier} {tracking_no}.",
        **params,
    )


async def on_stock_low(ctx: Context, event: dict[str, Any]) -> None:
    tell(
        ctx,
        await users_with_role(ctx, "warehouse", "admin"),
        "Low stock: {sku} {name} has {available} available (safety stock {safety_stock}).",
        **event,
    )


async def on_return_requested(ctx: Context, event: dict[str, Any]) -> None:
    tell(ctx, await users_with_role(ctx, "service"), "Return {rma_no} requested for {order_no}: {reason}", **event)


async def on_payment_overdue(ctx: Context, event: dict[str, Any]) -> None:
    tell(
        ctx,
        await users_with_role(ctx, "finance"),
        "Payment overdue: {order_no} ({amount}, due {due_on}).",
        order_no=event["order_no"],
        amount=money(event["amount"]),
        due_on=event["due_on"],
    )


HANDLERS = {
    "order.status_changed": on_status_changed,
    "approval.requested": on_approval_requested,
    "order.ready_to_pick": on_ready_to_pick,
    "order.shipped": on_shipped,
    "stock.low": on_stock_low,
    "return.requested": on_return_requested,
    "payment.overdue": on_payment_overdue,
    "approval.level_done": on_level_done,
}
