"""Orders and their lines for finance, read in batches so an export never holds every order.

``export_orders`` yields one ``ExportOrder`` at a time; batches of ``batch_size`` orders are read
by keyset (``id > last``), each with its lines and customer, so memory stays flat whatever the
number of orders. Writers (CSV, XLSX) live outside the core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.auth import Permission
from core.context import Context
from core.orders.filters import OrderFilter
from core.orders.models import Order

BATCH_SIZE = 500


@dataclass(frozen=True)
class ExportLine:
    sku: str
    name: str
    qty: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class ExportOrder:
    order_no: str
    created_at: datetime
    updated_at: datetime
    customer_code: str
    customer_name: str
    status: str
    payment_status: str
    payment_terms: str
    channel: str
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    paid_amount: Decimal
    refunded_amount: Decimal
    lines: tuple[ExportLine, ...]


def require_export(ctx: Context) -> None:
    """Finance and reporting roles export; checked before anything is read."""
    ctx.actor.require_any([Permission.REPORT_VIEW, Permission.PAYMENT_CONFIRM])


async def export_orders(
    ctx: Context, where: OrderFilter, *, batch_size: int = BATCH_SIZE
) -> AsyncIterator[ExportOrder]:
    require_export(ctx)
    last = 0
    while True:
        batch = list(
            await ctx.session.scalars(
                select(Order)
                .options(selectinload(Order.lines), selectinload(Order.customer))
                .where(Order.id > last, *where.conditions())
                .order_by(Order.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return
        for order in batch:
            yield ExportOrder(
                order_no=order.order_no,
                created_at=order.created_at,
                updated_at=order.updated_at,
                customer_code=order.customer.code,
                customer_name=order.customer.name,
                status=str(order.status),
                payment_status=str(order.payment_status),
                payment_terms=str(order.payment_terms),
                channel=order.channel,
                currency=order.currency,
                subtotal=order.subtotal,
                discount_total=order.discount_total,
                total=order.total,
                paid_amount=order.paid_amount,
                refunded_amount=order.refunded_amount,
                lines=tuple(
                    ExportLine(line.sku, line.name, line.qty, line.unit_price, line.line_total) for line in order.lines
                ),
            )
        last = batch[-1].id
