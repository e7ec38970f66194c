"""Credit-term invoices that pass their due date unpaid raise ``payment.overdue``.

The check is a durable timer set when the credit order is confirmed; it looks at the order
again when it fires, so an order paid (or cancelled) meanwhile raises nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.context import Context
from core.events.catalogue import PaymentOverdue
from core.events.store import record
from core.orders.models import Order, ReconciliationTask
from core.orders.status import PaymentStatus, ReconciliationStatus
from core.timers.service import schedule

KIND = "payment.overdue"


async def watch(ctx: Context, order: Order, due_on: date) -> None:
    zone = ZoneInfo(ctx.settings.timezone)
    due_at = datetime.combine(due_on, time(9, 0), zone)  # the morning after the due date's start
    await schedule(ctx, KIND, f"{KIND}:{order.order_no}", due_at, order_no=order.order_no)


async def check(ctx: Context, payload: dict[str, Any]) -> None:
    row = (
        await ctx.session.execute(
            select(
                Order.order_no, Order.payment_status, Order.total, ReconciliationTask.status, ReconciliationTask.due_on
            )
            .join(ReconciliationTask, ReconciliationTask.order_id == Order.id)
            .where(Order.order_no == payload["order_no"])
        )
    ).one_or_none()
    if row is None:
        return
    order_no, payment_status, total, task_status, due_on = row
    if payment_status == PaymentStatus.UNPAID and task_status == ReconciliationStatus.OPEN:
        record(ctx, PaymentOverdue(order_no=order_no, amount=total, due_on=due_on, at=ctx.now()))
