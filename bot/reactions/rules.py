"""The ``notify:`` steps of workflow rules, run when their trigger's event is delivered.

The trigger names (``order.received``, ``order.confirmed``, ``payment.overdue``, ``stock.low``,
``shipment.exception``) are what rule authors write, so they stay as they are whatever the events
are called; ``trigger_for`` maps a typed event to the trigger it is, if any. A condition sees the
order (``order.*``, ``customer.*``) and the event as stored (``event.*``, plus ``event.at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.delivery import approvers, enqueue, tell
from bot.i18n import DEFAULT_BY_PLATFORM, N_, Translator
from bot.reactions.orders import event_order
from bot.workflows.review import facts, holds
from bot.workflows.schema import Notify, Rule, Trigger
from bot.workflows.store import rules_for
from core.context import Context
from core.events.catalogue import (
    Event,
    OrderReceived,
    OrderStatusChanged,
    PaymentOverdue,
    ShipmentUpdated,
    StockLow,
)
from core.events.store import payload
from core.orders.status import OrderStatus, ShipmentStatus
from core.production.planning import make_to_order_products
from core.rebates.status import current_rate


def trigger_for(event: Event) -> Trigger | None:
    match event:
        case OrderReceived():
            return Trigger.ORDER_RECEIVED
        case OrderStatusChanged(to_status=OrderStatus.CONFIRMED):
            return Trigger.ORDER_CONFIRMED
        case PaymentOverdue():
            return Trigger.PAYMENT_OVERDUE
        case StockLow():
            return Trigger.STOCK_LOW
        case ShipmentUpdated(to_status=ShipmentStatus.EXCEPTION):
            return Trigger.SHIPMENT_EXCEPTION
    return None


@dataclass(frozen=True)
class Notice:
    """One ``notify:`` target of a rule whose condition held, with the text it gets."""

    rule: str
    target: Notify
    text: str
    params: dict[str, Any]


def notices(event: Event, rules: list[Rule], order_facts: dict[str, Any]) -> list[Notice]:
    """What the rules say to send for ``event`` (pure: no database, no clock)."""
    trigger = trigger_for(event)
    if trigger is None:
        return []
    seen = {k: v for k, v in payload(event).items() if v is not None} | {"at": event.at.isoformat()}
    activation = {**order_facts, "event": seen}
    subject = getattr(event, "order_no", None) or getattr(event, "sku", None) or ""
    found = []
    for rule in rules:
        if not rule.notify or not holds(rule, activation):
            continue
        for target in rule.notify:
            if target.message:
                text, params = f"{rule.name}: {target.message} ({subject})", {}
            else:
                text = N_("Rule {rule}: {event} {subject}")
                params = {"rule": rule.name, "event": trigger.value, "subject": subject}
            found.append(Notice(rule.name, target, text, params))
    return found


async def notify(ctx: Context, event: Event) -> None:
    trigger = trigger_for(event)
    if trigger is None:
        return
    rules = [rule for rule in await rules_for(ctx, trigger) if rule.notify]
    if not rules:
        return
    order_no = getattr(event, "order_no", None)
    order = await event_order(ctx, order_no) if order_no else None
    seen = {}
    if order is not None:
        made = (await make_to_order_products(ctx, order)).values()
        seen = facts(order, made, rebate_rate=await current_rate(ctx, order.customer))
    for notice in notices(event, rules, seen):
        target = notice.target
        if target.chat:
            platform, chat_id = target.chat.split(":", 1)
            message = Translator(DEFAULT_BY_PLATFORM.get(platform, "en"))(notice.text, **notice.params)
            enqueue(ctx, platform, chat_id, "send", {"text": message})
            continue
        who = target.model_dump(mode="json", exclude_none=True, exclude={"message", "chat"})
        tell(ctx, await approvers(ctx, who), notice.text, **notice.params)
