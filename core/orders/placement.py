"""Entering an order: price it, validate it, and send it on (hold, review or confirm).

Structural nonsense (no lines, a quantity of zero, an unknown customer) is refused outright and
nothing is stored. Everything a person can fix (a typo in a SKU, a bad phone number, credit,
price policy) stores the order ``on_hold`` with typed reasons, so it can be corrected and
re-validated instead of typed again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from core.audit.record import audit
from core.auth import OwnAccountOnly, Permission, PermissionDenied
from core.catalog.models import Product
from core.context import Context
from core.contracts.errors import ContractHasNoLines
from core.customers.models import Customer
from core.db.stamp import remember, stamp_column
from core.errors import (
    Action,
    AddressNotFound,
    CustomerNotFound,
    InvalidTransition,
    OrderLineNotFound,
    OrderNotFound,
    QuantityTooLarge,
    QuantityTooSmall,
    TooManyLines,
)
from core.events.catalogue import OrderReceived
from core.events.store import record
from core.orders import approvals, channel_prices, validation
from core.orders.confirmation import confirm_or_review
from core.orders.errors import NoCustomer, NoLines, OnlyHeldOrdersFixed
from core.orders.history import change_status
from core.orders.lifecycle import can
from core.orders.models import Order, OrderLine
from core.orders.numbering import drawn_along, has_sequences, next_number, numbered
from core.orders.repository import acting_on, order_by_external_ref
from core.orders.status import HoldReason, OrderKind, OrderStatus, PaymentStatus, PaymentTerms
from core.pricing.errors import DiscountOutOfRange, PricingError
from core.pricing.lookup import active_promotions, price_entries
from core.pricing.quote import Quote, QuoteLine, quote
from core.production.models import WorkOrder
from core.rebates import credit as rebate_credit

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DraftLine:
    sku: str
    qty: int


@dataclass(frozen=True)
class OrderDraft:
    customer: str
    lines: tuple[DraftLine, ...]
    payment_terms: PaymentTerms = PaymentTerms.PREPAID
    channel: str = "direct"
    external_ref: str | None = None  # the channel's own order id: placing it twice returns the first
    address_label: str | None = None  # which of the customer's addresses; default: the first
    ship_to: dict[str, object] | None = None  # an explicit address instead of a stored one
    coupon: str | None = None
    discount_percent: Decimal = ZERO  # a salesperson's manual discount
    note: str | None = None
    paid: bool = False  # the channel already took the money
    replaces: str | None = None  # order number this one replaces (an exchange): goods at no charge
    # A sales channel's order: its prices as charged, the number the shop shows, its last change.
    channel_prices: channel_prices.ChannelPrices | None = None
    channel_order_no: str | None = None
    channel_updated_at: datetime | None = None


async def place_order(ctx: Context, draft: OrderDraft) -> Order:
    ctx.actor.require(Permission.ORDER_CREATE)
    _check_structure(ctx, draft)
    if draft.external_ref:
        existing = await order_by_external_ref(ctx, draft.channel, draft.external_ref)
        if existing is not None:
            return existing
    await _check_own_account(ctx, draft.customer)
    customer, credit, drawn = await _customer(ctx, draft.customer.strip())
    now = ctx.now()
    order = Order(
        order_no=numbered("SO", drawn) if drawn is not None else await next_number(ctx, "order", "SO"),
        customer_id=customer.id,
        customer=customer,
        status=OrderStatus.RECEIVED,
        kind=OrderKind.STANDARD,
        payment_status=PaymentStatus.PAID if draft.paid else PaymentStatus.UNPAID,
        payment_terms=draft.payment_terms,
        channel=draft.channel,
        external_ref=draft.external_ref,
        channel_order_no=draft.channel_order_no,
        channel_updated_at=draft.channel_updated_at,
        price_breakdown=draft.channel_prices.breakdown() if draft.channel_prices else {},
        currency=ctx.settings.currency,
        ship_to=_ship_to(customer, draft),
        coupon_code=draft.coupon,
        manual_discount_percent=draft.discount_percent,
        # What the columns' defaults would give, set here: the order is checked before it is stored.
        subtotal=ZERO,
        discount_total=ZERO,
        total=ZERO,
        paid_amount=ZERO,
        refunded_amount=ZERO,
        hold_reasons=[],
        allocation_plan={},
        note=draft.note,
        salesperson_id=ctx.actor.user_id,
        replaces_order_id=await _order_id(ctx, draft.replaces),
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    products = await _products(ctx, [line.sku for line in draft.lines])
    order.lines = [
        _line(line.sku.strip().upper(), line.qty, products.get(line.sku.strip().upper())) for line in draft.lines
    ]
    # Priced and checked before it is stored, so the order and its lines are written once, with
    # their prices; only rebate credit needs the stored order (its use points at the order).
    if credit:
        await _store(ctx, order, draft)
    problems = await _checked(ctx, order, products, credit=credit)
    if order.id is None:
        await _store(ctx, order, draft)
    await _route(ctx, order, problems)
    if draft.paid:
        order.paid_amount = order.total
    return order


def _customer_query(*, with_number: bool) -> Select[Any]:
    number = [drawn_along("order")] if with_number else []
    return (
        select(Customer, rebate_credit.approved_column(), stamp_column(), *number)
        .where(Customer.code == bindparam("code"))
        .options(joinedload(Customer.addresses))
    )


# Built once: every placement runs them, and building a query and its cache key costs more than
# SQLite takes to run it.
_CUSTOMER = _customer_query(with_number=False)
_CUSTOMER_AND_NUMBER = _customer_query(with_number=True)  # PostgreSQL: the number drawn with it
_PRODUCTS = select(Product).where(Product.sku.in_(bindparam("skus", expanding=True)))


async def _customer(ctx: Context, code: str) -> tuple[Customer, Decimal, int | None]:
    """The customer with their addresses, the rebate credit approved for them, the config stamp
    (the price lists and promotions are copies kept under it) and (PostgreSQL) the order's number,
    in one query. A number drawn for an unknown customer is a gap, as any refused order's is."""
    with_number = has_sequences(ctx)
    stmt = _CUSTOMER_AND_NUMBER if with_number else _CUSTOMER
    row = (await ctx.session.execute(stmt, {"code": code})).unique().one_or_none()
    if row is None:
        raise CustomerNotFound(customer=code)
    remember(ctx.session, row[2])
    return row[0], rebate_credit.as_amount(row[1]), row[3] if with_number else None


async def _store(ctx: Context, order: Order, draft: OrderDraft) -> None:
    """Write the new order and its lines (it gets its id), then its first audit row and event."""
    ctx.session.add(order)
    await ctx.session.flush()
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="create",
        to_state=OrderStatus.RECEIVED,
        channel=order.channel,
        lines=[{"sku": line.sku, "qty": line.qty} for line in draft.lines],
    )
    record(
        ctx,
        OrderReceived(
            order_no=order.order_no, customer=order.customer.code, channel=order.channel, at=order.created_at
        ),
    )


async def revalidate(ctx: Context, order_no: str, *, expected_version: int | None = None) -> Order:
    """A person fixed what held the order; check it again from the top."""
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT, expected_version)
    await change_status(ctx, order, "revalidate")
    products = await _products(ctx, [line.sku for line in order.lines])
    for line in order.lines:
        product = products.get(line.sku)
        line.product_id = product.id if product else None
        line.name = product.name if product else line.sku
    await validate_and_route(ctx, order)
    return order


@dataclass(frozen=True)
class OrderEdit:
    """What may change before an order is confirmed; None leaves a part as it is."""

    lines: tuple[DraftLine, ...] | None = None
    ship_to: dict[str, object] | None = None
    payment_terms: PaymentTerms | None = None


async def edit_order(ctx: Context, order_no: str, change: OrderEdit, *, expected_version: int | None = None) -> Order:
    """Change a held or pending order and run validation and the rules again.

    Pending approvals are void: the approval card closes (its version no longer matches) and the
    rules decide afresh, so nobody approves one order and ships another.
    """
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT, expected_version)
    if order.kind == OrderKind.CONTRACT:
        raise ContractHasNoLines(order_no=order.order_no)
    # Refuse before anything is touched: clearing the lines of an order past review would delete
    # lines its work orders (or shipments) point at.
    refusal = InvalidTransition(
        action=Action("edit"), entity="order", key=order.order_no, state=OrderStatus(order.status)
    )
    if not can(order, "edit"):
        raise refusal
    if change.lines is not None and await ctx.session.scalar(
        select(WorkOrder.id).where(WorkOrder.order_id == order.id).limit(1)
    ):
        raise refusal
    before = {
        "lines": [(line.sku, line.qty) for line in order.lines],
        "ship_to": order.ship_to,
        "payment_terms": str(order.payment_terms),
    }
    if change.lines is not None:
        _check_structure(ctx, OrderDraft(order.customer.code, change.lines))
        products = await _products(ctx, [line.sku for line in change.lines])
        order.lines.clear()
        await ctx.session.flush()
        order.lines.extend(
            _line(line.sku.strip().upper(), line.qty, products.get(line.sku.strip().upper())) for line in change.lines
        )
    if change.ship_to is not None:
        order.ship_to = dict(change.ship_to)
    if change.payment_terms is not None:
        order.payment_terms = change.payment_terms
    order.review_reason = None
    await change_status(ctx, order, "edit", reason="order edited; pending approvals void", before=before)
    await approvals.void(ctx, order)
    await ctx.session.flush()
    await validate_and_route(ctx, order)
    return order


async def fix_line_sku(ctx: Context, order_no: str, wrong: str, right: str) -> Order:
    """Replace a mistyped SKU on a held order, then re-validate (the one-tap fix for a typo)."""
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT)
    if not can(order, "fix_sku"):
        raise OnlyHeldOrdersFixed(order_no=order.order_no, state=OrderStatus(order.status))
    changed = [line for line in order.lines if line.sku.upper() == wrong.strip().upper()]
    if not changed:
        raise OrderLineNotFound(order_no=order.order_no, sku=wrong.strip().upper())
    for line in changed:
        line.sku = right.strip().upper()
    audit(ctx, entity="order", key=order.order_no, order_id=order.id, action="edit_line", reason=f"{wrong} → {right}")
    await ctx.session.flush()
    return await revalidate(ctx, order_no)


async def validate_and_route(ctx: Context, order: Order, products: dict[str, Product] | None = None) -> None:
    """Price, validate, then hold, send to review, or confirm (and allocate)."""
    if products is None:
        products = await _products(ctx, [line.sku for line in order.lines])
    await _route(ctx, order, await _checked(ctx, order, products))


async def _checked(
    ctx: Context, order: Order, products: dict[str, Product], *, credit: Decimal | None = None
) -> list[validation.Problem]:
    """Price the order and return what is wrong with it; it is not moved here, and of a new order
    nothing is written (only a stored order takes rebate credit).

    ``credit``: the customer's approved rebate credit, when the caller read it with the customer.
    """
    customer: Customer = order.customer
    known = set(products) if all(line.sku in products for line in order.lines) else await _all_skus(ctx)
    problems = validation.check_skus(
        [line.sku for line in order.lines], known, [sku for sku, p in products.items() if not p.active]
    )
    from_channel = channel_prices.is_channel_priced(order.price_breakdown)
    priced: Quote | None = None
    if from_channel:  # the shop's prices stand; only selling below cost is for a person to look at
        channel_prices.apply(order, products)
        discount = Decimal(0)
        problems += validation.check_channel_customer(customer.name, customer.phone, customer.email)
    else:
        priced = await _price(ctx, order, products, problems, credit)
        discount = priced.discount_percent() if priced is not None else Decimal(0)
    problems += validation.check_address(order.ship_to, customer.phone)
    if (from_channel or priced is not None) and order.replaces_order_id is None:
        below_cost = [
            line.sku
            for line in order.lines
            if line.product_id and products[line.sku].cost is not None and line.unit_price < products[line.sku].cost
        ]
        problems += validation.check_price_policy(discount, ctx.settings.max_manual_discount_percent, below_cost)
        problems += validation.check_credit(
            order.payment_terms, order.total, customer.outstanding_balance, customer.credit_limit
        )
    order.hold_reasons = [p.to_dict() for p in problems]
    return problems


async def _route(ctx: Context, order: Order, problems: list[validation.Problem]) -> None:
    """Hold the order for what is wrong with it, or send it to review or confirmation."""
    if problems:
        codes = sorted({p.code.value for p in problems})
        await change_status(ctx, order, "hold", reason="; ".join(p.message for p in problems), hold_codes=codes)
        return
    await confirm_or_review(ctx, order)


async def _check_own_account(ctx: Context, code: str) -> None:
    """A customer orders for their own account only; asked for another, they learn nothing of it."""
    if not ctx.actor.only_own_orders:
        return
    own = await ctx.session.get(Customer, ctx.actor.customer_id) if ctx.actor.customer_id else None
    if own is None:
        raise PermissionDenied(actor=ctx.actor.name, permission=Permission.ORDER_CREATE)
    if own.code != code.strip():
        raise OwnAccountOnly(actor=ctx.actor.name, permission=Permission.ORDER_CREATE, account=own.code)


def _check_structure(ctx: Context, draft: OrderDraft) -> None:
    """Refuse what no person could fix on a held order, cheapest check first: the bounds come
    before anything is looked up, so an absurd order costs next to nothing to refuse."""
    if len(draft.lines) > ctx.settings.max_order_lines:
        raise TooManyLines(count=len(draft.lines), limit=ctx.settings.max_order_lines)
    for line in draft.lines:
        if line.qty > ctx.settings.max_line_qty:
            raise QuantityTooLarge(sku=line.sku.strip().upper(), limit=ctx.settings.max_line_qty)
    if not draft.customer or not draft.customer.strip():
        raise NoCustomer()
    if not draft.lines:
        raise NoLines()
    for line in draft.lines:
        if line.qty <= 0:
            raise QuantityTooSmall(sku=line.sku.strip().upper(), qty=line.qty)
    discount = Decimal(draft.discount_percent)
    if not discount.is_finite() or not 0 <= discount <= 100:
        raise DiscountOutOfRange(discount=str(draft.discount_percent))


async def _order_id(ctx: Context, order_no: str | None) -> int | None:
    if order_no is None:
        return None
    found = await ctx.session.scalar(select(Order.id).where(Order.order_no == order_no))
    if found is None:
        raise OrderNotFound(order_no=order_no)
    return found


def _line(sku: str, qty: int, product: Product | None) -> OrderLine:
    """A line as entered; prices are filled in by pricing, which needs the whole order."""
    return OrderLine(
        product_id=product.id if product else None,
        sku=sku,
        name=product.name if product else sku,
        qty=qty,
        list_price=ZERO,
        unit_price=ZERO,
        line_total=ZERO,
        shipped_qty=0,
        returned_qty=0,
    )


def _ship_to(customer: Customer, draft: OrderDraft) -> dict[str, object]:
    if draft.ship_to is not None:
        return dict(draft.ship_to)
    addresses = customer.addresses
    if draft.address_label:
        addresses = [a for a in addresses if a.label == draft.address_label]
        if not addresses:
            raise AddressNotFound(customer=customer.code, label=draft.address_label)
    return addresses[0].snapshot() if addresses else {}


async def _products(ctx: Context, skus: list[str]) -> dict[str, Product]:
    """The named products by SKU (SKUs are stored upper-case, so ``tea-001`` finds ``TEA-001``)."""
    wanted = sorted({sku.strip().upper() for sku in skus})
    rows = await ctx.session.scalars(_PRODUCTS, {"skus": wanted})
    return {p.sku: p for p in rows}


async def _all_skus(ctx: Context) -> set[str]:
    """Every SKU, for typo suggestions; read only when a line names an unknown one."""
    return set(await ctx.session.scalars(select(Product.sku)))


async def _price(
    ctx: Context,
    order: Order,
    products: dict[str, Product],
    problems: list[validation.Problem],
    credit: Decimal | None = None,
) -> Quote | None:
    """Price known lines; an unknown SKU leaves the order unpriced until it is fixed."""
    if any(line.product_id is None for line in order.lines):
        return None
    customer = order.customer
    lines = [
        QuoteLine(sku=line.sku, qty=line.qty, base_price=products[line.sku].price, cost=products[line.sku].cost)
        for line in order.lines
    ]
    entries = await price_entries(
        ctx.session,
        [line.sku for line in order.lines],
        customer.tier,
        order.channel,
        customer_group=customer.customer_group,
        customer=customer,
    )
    promotions = await active_promotions(ctx.session)
    if order.replaces_order_id is not None:  # an exchange ships again at no charge
        lines = [QuoteLine(sku=q.sku, qty=q.qty, base_price=ZERO) for q in lines]
        entries, promotions = [], []
    price = functools.partial(
        quote,
        lines,
        tier=customer.tier,
        channel=order.channel,
        price_entries=entries,
        promotions=promotions,
        manual_discount_percent=order.manual_discount_percent,
        customer_group=customer.customer_group,
        customer=customer.code,
    )
    try:
        priced = price(coupon_code=order.coupon_code)
    except PricingError as error:  # a bad coupon holds the order (price) and prices it without
        problems.append(validation.Problem(HoldReason.PRICE, "coupon", error.message, error.to_dict()["params"]))
        priced = price()
    for line, priced_line in zip(order.lines, priced.lines, strict=True):
        line.list_price, line.unit_price, line.line_total = (
            priced_line.list_price,
            priced_line.unit_price,
            priced_line.line_total,
        )
    order.subtotal, order.discount_total, order.total = priced.subtotal, priced.discount_total, priced.total
    order.price_breakdown = priced.breakdown()
    if order.replaces_order_id is None:
        _use_rebate_credit(order, await rebate_credit.use_on(ctx, order, priced.total, approved=credit))
    return priced


def _use_rebate_credit(order: Order, used: Decimal) -> None:
    """The customer's rebate credit comes off the total after every discount (it is money owed to
    them, not a price), so the price policy's discount check never sees it."""
    if not used:
        return
    order.discount_total -= used
    order.total -= used
    breakdown = dict(order.price_breakdown)
    breakdown["adjustments"] = [
        *breakdown.get("adjustments", []),
        {"kind": "rebate_credit", "name": "rebate credit", "amount": str(-used), "detail": {}},
    ]
    breakdown.update(discount_total=str(order.discount_total), total=str(order.total), rebate_credit=str(used))
    order.price_breakdown = breakdown
