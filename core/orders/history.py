"""Every status change goes through here: fire the transition, write the audit row, record the event."""

from __future__ import annotations

from typing import Any

from core.audit.record import audit, emit
from core.context import Context
from core.orders.lifecycle import fire
from core.orders.models import Order
from core.orders.status import OrderStatus


async def change_status(
    ctx: Context, order: Order, trigger: str, *, reason: str | None = None, **data: Any
) -> tuple[OrderStatus, OrderStatus]:
    before, after = fire(order, trigger)
    now = ctx.now()
    order.updated_at = now
    order.status_changed_at = now
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action=trigger,
        from_state=before,
        to_state=after,
        reason=reason,
        **data,
    )
    emit(
        ctx,
        "order.status_changed",
        order_no=order.order_no,
        from_status=before.value,
        to_status=after.value,
        trigger=trigger,
        actor=ctx.actor.name,
        actor_id=ctx.actor.user_id,
        reason=reason,
    )
    # No flush here: the next query autoflushes, so several steps in one command cost one UPDATE.
    return before, after
