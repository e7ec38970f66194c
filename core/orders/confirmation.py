"""From a valid order to stock on the shelf: review, confirmation (with the credit check),
allocation, and routing by payment terms.

The credit check is a conditional UPDATE on the customer's outstanding balance
(``core.customers.balance``), so two credit orders confirmed at once cannot together exceed the limit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from core.auth import Permission
from core.catalog.models import Product
from core.context import Context
from core.customers import balance
from core.customers.models import Customer
from core.events.catalogue import OrderReadyToPick
from core.events.store import record
from core.inventory.allocation import allocate_order
from core.inventory.demand import hold_products, loaded_products
from core.inventory.models import PurchaseRequest, PurchaseRequestStatus
from core.inventory.planning import ShortagePolicy
from core.orders import approvals, overdue
from core.orders.errors import CreditLimitExceeded, RejectionNeedsReason
from core.orders.history import change_status
from core.orders.lifecycle import can
from core.orders.models import Order, ReconciliationTask
from core.orders.repository import acting_on, order_warehouses
from core.orders.review import Decision, ThresholdReview
from core.orders.status import HoldReason, OrderKind, OrderStatus, PaymentTerms
from core.orders.validation import Problem
from core.production import planning as production

CREDIT_DAYS = 30


async def confirm_or_review(ctx: Context, order: Order) -> None:
    policy = ctx.review_policy or ThresholdReview()
    decision = await policy.decide(ctx, order)
    if decision.decision == Decision.REVIEW:
        order.review_reason = decision.reason
        await change_status(ctx, order, "request_approval", reason=decision.reason, rule=decision.rule)
        levels = decision.levels or [decision.approvers or {"role": "approver"}]
        await approvals.request(ctx, order, levels, rule=decision.rule, reason=decision.reason)
        return
    reason = f"auto-approved by rule {decision.rule}" if decision.decision == Decision.AUTO_APPROVE else None
    await _confirm(ctx, order, "confirm", reason=reason, rule=decision.rule)


async def approve(
    ctx: Context, order_no: str, *, expected_version: int | None = None, note: str | None = None
) -> Order:
    order = await acting_on(ctx, order_no, Permission.ORDER_APPROVE, expected_version)
    if order.status == OrderStatus.PENDING_APPROVAL and not await approvals.record(ctx, order):
        return order  # a step is approved; the next step (or the rest of this one) still has to
    await _confirm(ctx, order, "approve", reason=note, review_reason=order.review_reason)
    return order


async def reject(ctx: Context, order_no: str, reason: str, *, expected_version: int | None = None) -> Order:
    if not reason.strip():
        raise RejectionNeedsReason(order_no=order_no)
    order = await acting_on(ctx, order_no, Permission.ORDER_APPROVE, expected_version)
    await change_status(ctx, order, "reject", reason=reason)
    await approvals.void(ctx, order)
    return order


async def _confirm(ctx: Context, order: Order, trigger: str, **audit_data: object) -> None:
    if order.kind == OrderKind.CONTRACT:  # no goods, no credit hold: invoiced milestone by milestone
        await change_status(ctx, order, trigger, reason=audit_data.pop("reason", None), **audit_data)
        return
    on_credit = order.payment_terms == PaymentTerms.CREDIT
    if on_credit and not await balance.charge(ctx, order.customer_id, order.total, within_limit=True):
        customer: Customer = order.customer
        await ctx.session.refresh(customer, ["outstanding_balance"])
        if can(order, "hold"):  # still being checked: it waits on hold for credit
            problem = Problem(
                HoldReason.CREDIT,
                "payment_terms",
                f"Over the credit limit: outstanding {customer.outstanding_balance} of {customer.credit_limit}.",
            )
            order.hold_reasons = [problem.to_dict()]
            await change_status(ctx, order, "hold", reason=problem.message, hold_codes=["credit"])
            return
        raise CreditLimitExceeded(
            order_no=order.order_no,
            customer=customer.code,
            outstanding=customer.outstanding_balance,
            limit=customer.credit_limit,
        )
    reason = audit_data.pop("reason", None)
    await change_status(ctx, order, trigger, reason=reason, **audit_data)
    if order.payment_terms == PaymentTerms.CREDIT:
        task = ReconciliationTask(
            order_id=order.id,
            amount=order.total,
            due_on=(ctx.now() + timedelta(days=CREDIT_DAYS)).date(),
            created_at=ctx.now(),
        )
        ctx.session.add(task)
        await overdue.watch(ctx, order, task.due_on)
    await allocate(ctx, order)


async def allocate(ctx: Context, order: Order) -> dict[str, int]:
    """Reserve stock for a confirmed (or backordered) order, then route it by payment.

    Returns the units reserved now, per SKU (empty when the order keeps waiting).
    """
    settings = ctx.settings
    ship_to = order.ship_to or {}
    destination = (
        (ship_to["lat"], ship_to["lon"]) if ship_to.get("lat") is not None and ship_to.get("lon") is not None else None
    )
    lines = [
        (line.id, line.product_id, line.qty - line.shipped_qty)
        for line in order.lines
        if line.product_id is not None and line.qty > line.shipped_qty
    ]
    await hold_products(ctx.session, [line.product_id for line in order.lines if line.product_id is not None])
    # Make-to-order lines hold what is on hand of the finished goods while the rest is made, so such
    # an order is planned as partial; it still waits (backordered) until every work order is done.
    made = await production.make_to_order_products(ctx, order)
    outcome = await allocate_order(
        ctx,
        order.id,
        lines,
        destination=destination,
        strategy=settings.allocation_strategy,
        policy=ShortagePolicy.PARTIAL if made else settings.shortage_policy,
        fresh=not order.allocation_plan,
    )
    plan = outcome.plan
    order.allocation_plan = {
        "strategy": plan.strategy.value,
        "explanation": plan.explanation,
        "picks": [{"warehouse": p.warehouse, "sku": p.sku, "qty": p.qty} for p in plan.picks],
        "shortages": dict(plan.shortages),
    }
    to_make = {sku: qty for sku, qty in plan.shortages.items() if sku in made.values()}
    to_buy = {sku: qty for sku, qty in plan.shortages.items() if sku not in to_make}
    if to_buy:
        await _request_purchase(ctx, order, to_buy)
    if made:
        await production.plan_for_order(ctx, order, to_make, made)
    nothing_reserved = not outcome.reserved
    if plan.shortages and (settings.shortage_policy == ShortagePolicy.BACKORDER or nothing_reserved or to_make):
        if can(order, "backorder"):
            await change_status(ctx, order, "backorder", reason=plan.explanation, shortages=dict(plan.shortages))
        return {}
    if can(order, "allocate"):
        await change_status(ctx, order, "allocate", reason=plan.explanation, picks=order.allocation_plan["picks"])
        await route_by_payment(ctx, order)
    return outcome.reserved


async def route_by_payment(ctx: Context, order: Order) -> None:
    """Prepaid and unpaid orders wait for the money; the rest go to the warehouse."""
    if not can(order, "release_to_pick"):  # the machine's guard: prepaid orders go once paid
        await change_status(ctx, order, "await_payment")
        return
    await change_status(ctx, order, "release_to_pick")
    # Every warehouse holding its reservations: a plan names only what its own call reserved, and
    # a made-to-order line's units were reserved when its work order was done.
    warehouses = sorted({p["warehouse"] for p in order.allocation_plan.get("picks", [])})
    warehouses = sorted(set(warehouses) | await order_warehouses(ctx, order.id))
    record(ctx, OrderReadyToPick(order_no=order.order_no, warehouses=tuple(warehouses), at=ctx.now()))


_OPEN_REQUESTS = select(PurchaseRequest).where(  # built once: every order short of stock asks it
    PurchaseRequest.order_id == bindparam("order_id"),
    PurchaseRequest.work_order_id.is_(None),
    PurchaseRequest.product_id.in_(bindparam("product_ids", expanding=True)),
    PurchaseRequest.status == PurchaseRequestStatus.OPEN,
)


async def _request_purchase(ctx: Context, order: Order, shortages: dict[str, int]) -> None:
    """One open purchase request per order and SKU, kept at the current gap (the order's products
    are held by ``allocate``; its open requests are read in one query)."""
    held = loaded_products(ctx.session, [line.product_id for line in order.lines if line.product_id], "sku")
    ids = {product.sku: pid for pid, product in held.items()}
    if not set(shortages) <= set(ids):
        ids.update(
            (await ctx.session.execute(select(Product.sku, Product.id).where(Product.sku.in_(list(shortages))))).all()
        )
    wanted = [ids[sku] for sku in shortages]
    existing = {
        request.product_id: request
        for request in await ctx.session.scalars(_OPEN_REQUESTS, {"order_id": order.id, "product_ids": wanted})
    }
    for sku, qty in sorted(shortages.items()):
        if (request := existing.get(ids[sku])) is not None:
            request.qty = qty
            continue
        ctx.session.add(PurchaseRequest(product_id=ids[sku], order_id=order.id, qty=qty, created_at=ctx.now()))
