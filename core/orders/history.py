"""Every status change goes through here: fire the transition, write the audit row, record the event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.audit.models import AuditRecord
from core.audit.record import audit
from core.context import Context
from core.events.catalogue import OrderStatusChanged
from core.events.store import record
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
    record(
        ctx,
        OrderStatusChanged(
            order_no=order.order_no,
            from_status=before,
            to_status=after,
            trigger=trigger,
            actor=ctx.actor.name,
            actor_id=ctx.actor.user_id,
            reason=reason,
            at=now,
        ),
    )
    # No flush here: the next query autoflushes, so several steps in one command cost one UPDATE.
    return before, after


async def last_change(
    ctx: Context, order: Order, *, leaving: OrderStatus | None = None, action: str | None = None
) -> AuditRecord | None:
    """The order's most recent audit row that moved it out of ``leaving`` (or has ``action``):
    who acted first, for someone who arrives after them."""
    stmt = select(AuditRecord).where(AuditRecord.order_id == order.id)
    if leaving is not None:
        stmt = stmt.where(AuditRecord.from_state == leaving.value)
    if action is not None:
        stmt = stmt.where(AuditRecord.action == action)
    return (await ctx.session.scalars(stmt.order_by(AuditRecord.id.desc()).limit(1))).one_or_none()
