"""Work orders (生产工单) under ``/api/v1/work-orders``, for an MES: follow them, move them on.

The same ``core.production`` services the ``/mo`` chat commands call, with the key's actor: reading
needs ``work_orders:read``, releasing, starting, finishing and cancelling ``work_orders:write``.
Each move takes ``If-Match`` with the work order's version like an order's actions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field
from sqlalchemy import select

from core.context import Context
from core.orders.models import Order
from core.production import service as production
from core.production.errors import WorkOrderNotFound
from integrations.api import schemas as s
from integrations.api.registry import Call, Work, route
from integrations.api.routes import Cursor, Limit, NoBody, Query

Status = Literal["planned", "released", "in_progress", "done", "cancelled"]


class WorkOrderQuery(Query):
    status: Status | None = None
    limit: Limit = 20
    starting_after: Cursor | None = Field(default=None, description="The mo_no ending the previous page.")


class WorkOrderRow(s.Projection):
    mo_no: str
    status: Status
    order_no: str
    sku: str
    name: str
    qty: int
    version: int
    created_at: AwareDatetime


class WorkOrderList(s.Response):
    data: list[WorkOrderRow]
    has_more: bool


class Material(s.Projection):
    sku: str
    name: str
    required: int
    reserved: int
    short: int
    made: int


class PurchaseRequestOut(s.Projection):
    sku: str
    qty: int
    status: str


class WorkOrderDetail(s.Projection):
    """A work order with its materials (required, reserved, short, made inside it) and the
    purchase requests for what was short; ``can`` says which moves its state allows now."""

    mo_no: str
    status: Status
    order_no: str
    order_status: str
    sku: str
    name: str
    qty: int
    warehouse: str
    version: int
    can: dict[str, bool]
    materials: list[Material]
    purchase_requests: list[PurchaseRequestOut]
    created_at: AwareDatetime
    updated_at: AwareDatetime


@route("GET", "/work-orders", tag="work orders", scope="work_orders:read", response=WorkOrderList, query=WorkOrderQuery)
async def list_work_orders(call: Call) -> Work:
    """List work orders, newest first (filter by status)"""
    q: WorkOrderQuery = call.query
    after = q.starting_after.strip().upper() if q.starting_after else None

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        rows, more = await production.page_work_orders(ctx, status=q.status, limit=q.limit, starting_after=after)
        return 200, {"data": rows, "has_more": more}

    return work


async def _detail(ctx: Context, mo_no: str) -> dict[str, Any]:
    detail = await production.work_order_detail(ctx, mo_no)
    if ctx.actor.only_own_orders:  # another customer's production does not exist for this key
        owner = await ctx.session.scalar(select(Order.customer_id).where(Order.order_no == detail["order_no"]))
        if owner != ctx.actor.customer_id:
            raise WorkOrderNotFound(mo_no=mo_no.strip().upper())
    return detail


@route("GET", "/work-orders/{mo_no}", tag="work orders", scope="work_orders:read", response=WorkOrderDetail)
async def get_work_order(call: Call) -> Work:
    """One work order: materials, purchase requests, the moves its state allows"""
    mo_no = call.path("mo_no")

    async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
        return 200, await _detail(ctx, mo_no)

    return work


def _move(name: str, doc: str, change: Any, body: type[s.Request]) -> None:
    async def handler(call: Call) -> Work:
        mo_no = call.path("mo_no")

        async def work(ctx: Context) -> tuple[int, dict[str, Any]]:
            await _detail(ctx, mo_no)  # a customer key's view first: not found is not found
            await change(ctx, mo_no, call)
            return 200, await _detail(ctx, mo_no)

        return work

    handler.__name__ = f"{name}_work_order"
    handler.__doc__ = doc
    route(
        "POST",
        f"/work-orders/{{mo_no}}/{name}",
        tag="work orders",
        scope="work_orders:write",
        response=WorkOrderDetail,
        body=body,
        body_required=body is not NoBody,
        if_match=True,
    )(handler)


_move(
    "release",
    "Release a planned work order to the shop floor",
    lambda ctx, no, call: production.release(ctx, no, expected_version=call.expected_version),
    NoBody,
)
_move(
    "start",
    "Start a released work order (every material on the shelves)",
    lambda ctx, no, call: production.start(ctx, no, expected_version=call.expected_version),
    NoBody,
)
_move(
    "done",
    "Finish a work order: materials consumed, the goods received for the order",
    lambda ctx, no, call: production.finish(ctx, no, expected_version=call.expected_version),
    NoBody,
)
_move(
    "cancel",
    "Cancel a work order (its reservations and purchase requests follow)",
    lambda ctx, no, call: production.cancel(ctx, no, call.body.reason, expected_version=call.expected_version),
    s.ReasonIn,
)
