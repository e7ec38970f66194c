"""The resources under ``/api/v1``: each handler turns a validated request into core service calls.

Orders, payments, fulfilment, stock and returns are the core's services, with their permissions,
rules and audit, exactly as chat calls them. Products and customers have no core permission (every
role may look them up in chat); their scopes are checked by the route table, and a key limited
to one customer sees only that customer.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.catalog.models import Product
from core.context import Context
from core.customers.models import Customer
from core.errors import ReturnNotFound
from core.inventory.stock import stock_view
from core.orders import backorders, cancellation, confirmation, fulfilment, payments, returns
from core.orders.filters import OrderFilter
from core.orders.listing import UnknownCursor, list_orders
from core.orders.models import Order, OrderLine, ReturnRequest
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.status import OrderStatus, PaymentTerms
from core.orders.views import order_detail
from integrations.api import schemas as s
from integrations.api.registry import Call, Work, route

_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _iso_only(value: Any) -> Any:
    """Query times must be ISO 8601 with an offset (pydantic alone would take a Unix timestamp)."""
    if isinstance(value, str) and not _ISO.match(value):
        raise ValueError("must be an ISO 8601 date-time with an offset, e.g. 2026-01-31T09:00:00+08:00")
    return value


Since = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
Limit = Annotated[int, Field(ge=1, le=100, description="Page size, 1 to 100.")]
Cursor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="The last id of the previous page.",
    ),
]


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OrderQuery(Query):
    status: OrderStatus | None = None
    customer: s.Code | None = Field(default=None, description="A customer code.")
    channel: s.Code | None = None
    created_since: Since | None = Field(default=None, description="Orders created at or after this time.")
    updated_since: Since | None = Field(default=None, description="Orders changed at or after this time.")
    limit: Limit = 20
    starting_after: Cursor | None = Field(default=None, description="The order_no ending the previous page.")


class PageQuery(Query):
    limit: Limit = 20
    starting_after: Cursor | None = None


class ReturnQuery(PageQuery):
    order_no: s.Code | None = None


def _time(value: datetime) -> str:
    return value.isoformat()


def _summary(order: Order) -> dict[str, Any]:
    return {
        "order_no": order.order_no,
        "kind": str(order.kind or "standard"),
        "status": str(order.status),
        "payment_status": str(order.payment_status),
        "payment_terms": str(order.payment_terms),
        "channel": order.channel,
        "customer": order.customer.code,
        "total": s.money(order.total),
        "currency": order.currency,
        "version": order.version,
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
    }


def _detail(detail: dict[str, Any]) -> dict[str, Any]:
    """``order_detail`` as documented (``schemas.OrderDetail``): fields the core adds later stay out."""
    return s.OrderDetail.model_validate(detail).model_dump(mode="json", by_alias=True)


def _stock(view: dict[str, Any]) -> dict[str, Any]:
    return s.StockOut.model_validate(view).model_dump(mode="json")


# --- orders -----------------------------------------------------------------------------------------


@route("GET", "/orders", tag="orders", scope="orders:read", response=s.OrderList, query=OrderQuery)
async def list_orders_(call: Call) -> Work:
    """List orders, newest first
    Cursor pagination: pass the last `order_no` of a page as `starting_after` for the next one; orders
    created meanwhile never repeat or shift a row. Filters combine with AND; `created_since` and
    `updated_since` are inclusive ISO 8601 times with an offset."""
    q: OrderQuery = call.query
    where = OrderFilter.build(
        statuses=[q.status] if q.status else [],
        customer=q.customer,
        channel=q.channel,
        created_since=q.created_since,
        updated_since=q.updated_since,
    )

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        page = await list_orders(ctx, where, q.limit, q.starting_after)
        return 200, {"data": [_summary(o) for o in page.orders], "has_more": page.has_more}

    return work


@route("GET", "/orders/{order_no}", tag="orders", scope="orders:read", response=s.OrderDetail)
async def get_order(call: Call) -> Work:
    """One order: lines, allocations, shipments with tracking, returns and history
    The `ETag` header is the order's version; send it back as `If-Match` on an action to act only
    on what you saw."""
    order_no = call.path("order_no")

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        return 200, _detail(await order_detail(ctx, order_no))

    return work


@route("POST", "/orders", tag="orders", scope="orders:write", response=s.OrderDetail, status=201, body=s.OrderIn)
async def create_order(call: Call) -> Work:
    """Place an order
    Priced, validated and routed exactly as one entered in chat: it may come back `on_hold` (with
    `hold_reasons`), `pending_approval`, or confirmed and allocated."""
    b: s.OrderIn = call.body
    draft = OrderDraft(
        customer=b.customer,
        lines=tuple(DraftLine(line.sku, line.qty) for line in b.lines),
        payment_terms=PaymentTerms(b.payment_terms),
        channel="api",
        external_ref=b.external_ref,
        address_label=b.address_label,
        ship_to=b.ship_to.model_dump() if b.ship_to else None,
        coupon=b.coupon,
        discount_percent=Decimal(b.discount_percent),
        note=b.note,
    )

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        order = await place_order(ctx, draft)
        return 201, _detail(await order_detail(ctx, order.order_no))

    return work


def _action(change: Any) -> Any:
    """A handler for ``POST /orders/{no}/<action>``: run ``change(ctx, order_no, call)``, answer the order."""

    async def handler(call: Call) -> Work:
        order_no = call.path("order_no")

        async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
            await change(ctx, order_no, call)
            return 200, _detail(await order_detail(ctx, order_no))

        return work

    return handler


def _action_route(name: str, scope: str, body: type[BaseModel] | None, required: bool, doc: str, change: Any) -> None:
    handler = _action(change)
    handler.__name__ = f"{name}_order"
    handler.__doc__ = doc
    route(
        "POST",
        f"/orders/{{order_no}}/{name}",
        tag="orders",
        scope=scope,
        response=s.OrderDetail,
        body=body,
        body_required=required,
        if_match=True,
    )(handler)


async def _approve(ctx: Context, no: str, call: Call) -> None:
    await confirmation.approve(ctx, no, expected_version=call.expected_version, note=call.body.note)


async def _reject(ctx: Context, no: str, call: Call) -> None:
    await confirmation.reject(ctx, no, call.body.reason, expected_version=call.expected_version)


async def _cancel(ctx: Context, no: str, call: Call) -> None:
    await cancellation.cancel(ctx, no, call.body.reason, expected_version=call.expected_version)


async def _pay(ctx: Context, no: str, call: Call) -> None:
    await payments.confirm_payment(ctx, no, reference=call.body.reference, expected_version=call.expected_version)


async def _pick(ctx: Context, no: str, call: Call) -> None:
    await fulfilment.start_picking(ctx, no, expected_version=call.expected_version)


async def _pack(ctx: Context, no: str, call: Call) -> None:
    await fulfilment.pack(ctx, no, expected_version=call.expected_version)


async def _ship(ctx: Context, no: str, call: Call) -> None:
    b: s.ShipIn = call.body
    request = fulfilment.ShipRequest(
        carrier=b.carrier, tracking_no=b.tracking_no, warehouse=b.warehouse, lines=dict(b.lines) if b.lines else None
    )
    await fulfilment.ship(ctx, no, request, expected_version=call.expected_version)


async def _deliver(ctx: Context, no: str, call: Call) -> None:
    await fulfilment.confirm_delivery(ctx, no, expected_version=call.expected_version)


async def _complete(ctx: Context, no: str, call: Call) -> None:
    await fulfilment.complete(ctx, no, expected_version=call.expected_version)


class NoBody(s.Request):
    """Nothing to send (an empty body or `{}`)."""


_action_route(
    "approve", "orders:approve", s.ApproveIn, False, "Approve an order waiting for review (one step of it)", _approve
)
_action_route("reject", "orders:approve", s.ReasonIn, True, "Reject an order waiting for review", _reject)
_action_route(
    "cancel", "orders:write", s.ReasonIn, True, "Cancel an order (reservations released, refund if paid)", _cancel
)
_action_route("pay", "payments:write", s.PayIn, False, "Confirm the order is paid in full", _pay)
_action_route("pick", "fulfilment:write", NoBody, False, "Start picking an order that is ready to pick", _pick)
_action_route("pack", "fulfilment:write", NoBody, False, "Mark a picked order packed (ready to ship)", _pack)
_action_route(
    "ship", "fulfilment:write", s.ShipIn, True, "Ship an order, or part of it, with carrier and tracking number", _ship
)
_action_route("deliver", "fulfilment:write", NoBody, False, "Confirm the order was delivered", _deliver)
_action_route(
    "complete", "orders:write", NoBody, False, "Close a delivered order (a distributor's rebate accrues)", _complete
)


# --- products and customers ------------------------------------------------------------------------------


async def _after(ctx: Context, model: Any, column: Any, key: str | None, extra: Any = None) -> int | None:
    if key is None:
        return None
    stmt = select(model.id).where(column == key)
    if extra is not None:
        stmt = stmt.where(extra)
    found = await ctx.session.scalar(stmt)
    if found is None:
        raise UnknownCursor(key=key)
    return found


@route("GET", "/products", tag="catalogue", scope="products:read", response=s.ProductList, query=PageQuery)
async def list_products(call: Call) -> Work:
    """List products, by SKU id order (cursor: the last SKU of the previous page)"""
    q: PageQuery = call.query

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        stmt = select(Product).order_by(Product.id).limit(q.limit + 1)
        if (
            after := await _after(ctx, Product, Product.sku, q.starting_after and q.starting_after.upper())
        ) is not None:
            stmt = stmt.where(Product.id > after)
        rows = list(await ctx.session.scalars(stmt))
        data = [
            {
                "sku": p.sku,
                "name": p.name,
                "price": s.money(p.price),
                "product_line": p.product_line,
                "kit": p.is_kit,
                "make_to_order": p.make_to_order,
                "active": p.active,
            }
            for p in rows[: q.limit]
        ]
        return 200, {"data": data, "has_more": len(rows) > q.limit}

    return work


@route("GET", "/customers", tag="customers", scope="customers:read", response=s.CustomerList, query=PageQuery)
async def list_customers(call: Call) -> Work:
    """List customers (a customer-limited key: only its own)"""
    q: PageQuery = call.query

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        stmt = select(Customer).order_by(Customer.id).limit(q.limit + 1)
        own = Customer.id == ctx.actor.customer_id if ctx.actor.only_own_orders else None
        if own is not None:
            stmt = stmt.where(own)
        if (after := await _after(ctx, Customer, Customer.code, q.starting_after, own)) is not None:
            stmt = stmt.where(Customer.id > after)
        rows = list(await ctx.session.scalars(stmt))
        data = [
            {
                "code": c.code,
                "name": c.name,
                "tier": c.tier,
                "phone": c.phone,
                "email": c.email,
                "credit_limit": s.money(c.credit_limit),
                "outstanding_balance": s.money(c.outstanding_balance),
            }
            for c in rows[: q.limit]
        ]
        return 200, {"data": data, "has_more": len(rows) > q.limit}

    return work


# --- stock ----------------------------------------------------------------------------------------


@route("GET", "/stock/{sku}", tag="stock", scope="stock:read", response=s.StockOut)
async def get_stock(call: Call) -> Work:
    """A SKU's stock per warehouse: on hand, reserved, available (kits: what the components allow)"""
    sku = call.path("sku")

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        return 200, _stock(await stock_view(ctx, sku))

    return work


@route("POST", "/stock/receipts", tag="stock", scope="stock:write", response=s.StockMoved, status=201, body=s.ReceiptIn)
async def receive_stock(call: Call) -> Work:
    """Book goods in; backordered orders waiting for the SKU are served first-in-first-out"""
    b: s.ReceiptIn = call.body

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        served = await backorders.receive(ctx, b.sku, b.warehouse, b.qty, b.reason)
        return 201, {"stock": _stock(await stock_view(ctx, b.sku)), "served_orders": served}

    return work


@route(
    "POST",
    "/stock/adjustments",
    tag="stock",
    scope="stock:write",
    response=s.StockMoved,
    status=201,
    body=s.AdjustmentIn,
)
async def adjust_stock(call: Call) -> Work:
    """Correct a stock count by a signed delta, with a reason"""
    b: s.AdjustmentIn = call.body

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        served = await backorders.adjust(ctx, b.sku, b.warehouse, b.delta, b.reason)
        return 201, {"stock": _stock(await stock_view(ctx, b.sku)), "served_orders": served}

    return work


# --- returns ----------------------------------------------------------------------------------------


async def _return_out(ctx: Context, rmas: list[ReturnRequest]) -> list[dict[str, Any]]:
    if not rmas:
        return []
    order_nos = dict(
        (
            await ctx.session.execute(select(Order.id, Order.order_no).where(Order.id.in_({r.order_id for r in rmas})))
        ).all()
    )
    line_ids = {line.order_line_id for r in rmas for line in r.lines}
    skus = dict(
        (await ctx.session.execute(select(OrderLine.id, OrderLine.sku).where(OrderLine.id.in_(line_ids)))).all()
    )
    out = []
    for r in rmas:
        lines: dict[str, int] = {}
        for line in r.lines:
            lines[skus[line.order_line_id]] = lines.get(skus[line.order_line_id], 0) + line.qty
        out.append(
            {
                "rma_no": r.rma_no,
                "order_no": order_nos[r.order_id],
                "status": str(r.status),
                "resolution": r.resolution,
                "reason": r.reason,
                "refund_amount": s.money(r.refund_amount),
                "lines": lines,
                "created_at": _time(r.created_at),
                "updated_at": _time(r.updated_at),
            }
        )
    return out


def _returns_visible(ctx: Context) -> Any:
    stmt = select(ReturnRequest).options(selectinload(ReturnRequest.lines))
    if ctx.actor.only_own_orders:
        stmt = stmt.where(
            ReturnRequest.order_id.in_(select(Order.id).where(Order.customer_id == ctx.actor.customer_id))
        )
    return stmt


@route("GET", "/returns", tag="returns", scope="returns:read", response=s.ReturnList, query=ReturnQuery)
async def list_returns(call: Call) -> Work:
    """List returns (RMAs), newest first; a customer-limited key sees its own
    Cursor: the last `rma_no` of the previous page."""
    q: ReturnQuery = call.query

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        from core.auth import Permission

        ctx.actor.require(Permission.ORDER_VIEW)
        stmt = _returns_visible(ctx).order_by(ReturnRequest.id.desc()).limit(q.limit + 1)
        if q.order_no is not None:
            stmt = stmt.where(ReturnRequest.order_id.in_(select(Order.id).where(Order.order_no == q.order_no.upper())))
        if q.starting_after is not None:
            after = (
                await ctx.session.scalars(_returns_visible(ctx).where(ReturnRequest.rma_no == q.starting_after.upper()))
            ).one_or_none()
            if after is None:
                raise UnknownCursor(key=q.starting_after)
            stmt = stmt.where(ReturnRequest.id < after.id)
        rows = list(await ctx.session.scalars(stmt))
        return 200, {"data": await _return_out(ctx, rows[: q.limit]), "has_more": len(rows) > q.limit}

    return work


@route("POST", "/returns", tag="returns", scope="returns:write", response=s.ReturnOut, status=201, body=s.ReturnIn)
async def create_return(call: Call) -> Work:
    """Request a return of delivered goods (an RMA), for a refund or an exchange"""
    b: s.ReturnIn = call.body

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        rma = await returns.request_return(ctx, b.order_no, dict(b.lines), b.reason, b.resolution)
        loaded = (await ctx.session.scalars(_returns_visible(ctx).where(ReturnRequest.id == rma.id))).one_or_none()
        if loaded is None:  # pragma: no cover - it was just created by this actor
            raise ReturnNotFound(rma_no=rma.rma_no)
        [out] = await _return_out(ctx, [loaded])
        return 201, out

    return work
