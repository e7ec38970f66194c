"""A contract's figures as ``/order`` and the projects report show them: value, invoiced,
received, cost to date and margin (value − cost to date), all Decimal, margin % to one place."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from core.auth import Permission
from core.context import Context
from core.contracts.models import CostKind, Milestone, MilestoneStatus, ProjectCost
from core.customers.models import Customer
from core.orders.models import Order
from core.orders.status import OrderKind, OrderStatus

ZERO = Decimal("0.00")
BILLED = (MilestoneStatus.INVOICED, MilestoneStatus.PAID)


def margin_percent(margin: Decimal, value: Decimal) -> Decimal:
    return (margin * 100 / value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if value else Decimal("0.0")


def figures(value: Decimal, milestones: list[Milestone], costs: dict[str, Decimal]) -> dict[str, str]:
    invoiced = sum((m.amount for m in milestones if m.status in BILLED), ZERO)
    received = sum((m.amount for m in milestones if m.status == MilestoneStatus.PAID), ZERO)
    labour, material = costs.get(CostKind.LABOUR, ZERO), costs.get(CostKind.MATERIAL, ZERO)
    cost = labour + material
    margin = value - cost
    return {
        "value": str(value),
        "invoiced": str(invoiced),
        "received": str(received),
        "outstanding": str(invoiced - received),
        "labour_cost": str(labour),
        "material_cost": str(material),
        "cost": str(cost),
        "margin": str(margin),
        "margin_percent": str(margin_percent(margin, value)),
    }


async def _costs(ctx: Context, order_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    # Summed here, not by SQL: SQLite would add the amounts as floats.
    rows = await ctx.session.execute(
        select(ProjectCost.order_id, ProjectCost.kind, ProjectCost.amount).where(ProjectCost.order_id.in_(order_ids))
    )
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for order_id, kind, amount in rows:
        out[order_id][CostKind(kind)] = out[order_id].get(CostKind(kind), ZERO) + amount
    return out


async def _milestones(ctx: Context, order_ids: list[int]) -> dict[int, list[Milestone]]:
    rows = await ctx.session.scalars(
        select(Milestone).where(Milestone.order_id.in_(order_ids)).order_by(Milestone.order_id, Milestone.seq)
    )
    out: dict[int, list[Milestone]] = defaultdict(list)
    for m in rows:
        out[m.order_id].append(m)
    return out


INTERNAL = ("labour_cost", "material_cost", "cost", "margin", "margin_percent", "costs")


async def contract_detail(ctx: Context, order: Order) -> dict[str, Any]:
    """The ``contract`` part of an order's detail (the caller authorised the order). A customer
    looking at their own contract sees what they were invoiced and paid, never our costs."""
    detail = await _contract_detail(ctx, order)
    if ctx.actor.only_own_orders:
        return {k: v for k, v in detail.items() if k not in INTERNAL}
    return detail


async def _contract_detail(ctx: Context, order: Order) -> dict[str, Any]:
    milestones = (await _milestones(ctx, [order.id])).get(order.id, [])
    costs = (await _costs(ctx, [order.id])).get(order.id, {})
    logged = await ctx.session.scalars(
        select(ProjectCost).where(ProjectCost.order_id == order.id).order_by(ProjectCost.id)
    )
    return {
        "project": order.project_name,
        **figures(order.total, milestones, costs),
        "milestones": [
            {
                "seq": m.seq,
                "name": m.name,
                "percent": str(m.percent) if m.percent is not None else None,
                "amount": str(m.amount),
                "due_on": m.due_on.isoformat(),
                "status": str(m.status),
                "invoice_no": m.invoice_no,
                "waits_for": (m.approval_levels[m.approval_level] if m.status == MilestoneStatus.IN_REVIEW else None),
            }
            for m in milestones
        ],
        "costs": [
            {
                "kind": str(c.kind),
                "description": c.description,
                "qty": str(c.qty),
                "unit_cost": str(c.unit_cost),
                "amount": str(c.amount),
                "at": c.created_at.isoformat(),
            }
            for c in logged
        ],
    }


async def projects_report(ctx: Context) -> dict[str, Any]:
    """Every live or finished contract (not rejected or cancelled) with its figures, and the totals."""
    ctx.actor.require(Permission.REPORT_VIEW)
    rows = list(
        await ctx.session.execute(
            select(Order.id, Order.order_no, Order.project_name, Order.status, Order.total, Customer.code)
            .join(Customer, Customer.id == Order.customer_id)
            .where(
                Order.kind == OrderKind.CONTRACT,
                Order.status.not_in([OrderStatus.REJECTED, OrderStatus.CANCELLED]),
            )
            .order_by(Order.id)
        )
    )
    ids = [row.id for row in rows]
    milestones, costs = await _milestones(ctx, ids), await _costs(ctx, ids)
    projects = [
        {
            "order_no": row.order_no,
            "project": row.project_name,
            "customer": row.code,
            "status": str(row.status),
            **figures(row.total, milestones.get(row.id, []), costs.get(row.id, {})),
        }
        for row in rows
    ]
    keys = ("value", "invoiced", "received", "cost", "margin")
    totals: dict[str, str] = {k: str(sum((Decimal(p[k]) for p in projects), ZERO)) for k in keys}
    totals["margin_percent"] = str(margin_percent(Decimal(totals["margin"]), Decimal(totals["value"])))
    return {"projects": projects, "totals": totals}
