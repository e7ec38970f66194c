"""The packing slip / delivery note (送货单) for one order: who it goes to, what is in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from core.auth import Permission
from core.context import Context
from core.documents.errors import ContractHasNoSlip
from core.orders.models import Shipment
from core.orders.repository import authorize, load_order, order_warehouses
from core.orders.status import OrderKind


@dataclass(frozen=True)
class SlipLine:
    sku: str
    name: str
    qty: int
    shipped_qty: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class PackingSlip:
    order_no: str
    created_at: datetime
    printed_at: datetime
    customer_code: str
    customer_name: str
    customer_phone: str | None
    ship_to: dict[str, str]  # contact, phone, province, city, line, postcode (empty strings when unknown)
    currency: str
    payment_terms: str
    payment_status: str
    lines: tuple[SlipLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    note: str | None
    warehouses: tuple[str, ...]
    shipments: tuple[tuple[str, str], ...]  # (carrier, tracking number)

    @property
    def total_units(self) -> int:
        return sum(line.qty for line in self.lines)


ADDRESS_FIELDS = ("contact", "phone", "province", "city", "line", "postcode")


async def packing_slip(ctx: Context, order_no: str) -> PackingSlip:
    order = await load_order(ctx, order_no)
    await authorize(ctx, order, Permission.ORDER_VIEW)  # customers: their own; warehouse: theirs
    if order.kind == OrderKind.CONTRACT:
        raise ContractHasNoSlip(order_no=order.order_no)
    shipments = await ctx.session.execute(
        select(Shipment.carrier, Shipment.tracking_no).where(Shipment.order_id == order.id).order_by(Shipment.id)
    )
    ship_to = order.ship_to or {}
    return PackingSlip(
        order_no=order.order_no,
        created_at=order.created_at,
        printed_at=ctx.now(),
        customer_code=order.customer.code,
        customer_name=order.customer.name,
        customer_phone=order.customer.phone,
        ship_to={key: str(ship_to.get(key) or "") for key in ADDRESS_FIELDS},
        currency=order.currency,
        payment_terms=str(order.payment_terms),
        payment_status=str(order.payment_status),
        lines=tuple(
            SlipLine(line.sku, line.name, line.qty, line.shipped_qty, line.unit_price, line.line_total)
            for line in order.lines
        ),
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        total=order.total,
        note=order.note,
        warehouses=tuple(sorted(await order_warehouses(ctx, order.id))),
        shipments=tuple((carrier, tracking) for carrier, tracking in shipments),
    )
