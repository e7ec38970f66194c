"""Taking a channel's order in: exactly one order per channel order, always its latest state.

Every path that learns of a channel order (a webhook delivery, the reconciliation poll) ends here,
so the guarantees hold whichever arrives first or twice:

* idempotent on (channel, channel order id): the order row's unique key, looked up first;
* "latest state wins": an update older than the one we hold (by the channel's ``updated_at``)
  changes nothing;
* before allocation an update edits the order the way ``/edit`` does (rules again, approvals
  void); after allocation nobody's picking is pulled from under them: a person is told the
  difference instead;
* a cancellation upstream cancels the order until it ships, and asks a person after.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.audit.record import audit
from core.auth import Permission
from core.channels import mapping
from core.channels.models import Channel
from core.channels.normalised import ChannelOrder, ChannelPayment, UpstreamState
from core.context import Context
from core.events.catalogue import ChannelOrderNeedsAttention
from core.events.store import record
from core.orders import cancellation, payments
from core.orders.channel_prices import ChannelPrices
from core.orders.lifecycle import can
from core.orders.models import Order
from core.orders.placement import DraftLine, OrderDraft, OrderEdit, edit_order, place_order
from core.orders.repository import acting_on, order_by_external_ref
from core.orders.status import OrderStatus, PaymentStatus, PaymentTerms


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"  # a repeat, or older than what we hold
    ATTENTION = "attention"  # a person was asked to look (after allocation, after shipping)
    SKIPPED = "skipped"  # a test order, or cancelled before we ever had it


@dataclass(frozen=True)
class Taken:
    outcome: Outcome
    order_no: str | None = None

    def __str__(self) -> str:
        return f"{self.outcome} {self.order_no}" if self.order_no else str(self.outcome)


async def take(ctx: Context, channel: Channel, incoming: ChannelOrder) -> Taken:
    existing = await order_by_external_ref(ctx, channel.code, incoming.order_id)
    if existing is not None:
        return await _update(ctx, channel, existing.order_no, incoming)
    if incoming.test and not channel.accept_test_orders:
        return Taken(Outcome.SKIPPED)
    if incoming.state == UpstreamState.CANCELLED:
        return Taken(Outcome.SKIPPED)
    return await _create(ctx, channel, incoming)


async def _create(ctx: Context, channel: Channel, incoming: ChannelOrder) -> Taken:
    skus = await mapping.sku_map(ctx, channel)
    customer = await mapping.customer_for(ctx, channel, incoming.customer)
    order = await place_order(
        ctx,
        OrderDraft(
            customer=customer.code,
            lines=tuple(DraftLine(mapping.our_sku(line, skus), line.qty) for line in incoming.lines),
            payment_terms=PaymentTerms.COD if incoming.payment == ChannelPayment.COD else PaymentTerms.PREPAID,
            channel=channel.code,
            external_ref=incoming.order_id,
            ship_to=dict(incoming.ship_to) if incoming.ship_to else {},
            note=incoming.note,
            paid=incoming.payment == ChannelPayment.PAID,
            channel_prices=_prices(channel, incoming),
            channel_order_no=incoming.display_no,
            channel_updated_at=incoming.updated_at,
        ),
    )
    _ask_if_held(ctx, channel, order)
    return Taken(Outcome.CREATED, order.order_no)


async def _update(ctx: Context, channel: Channel, order_no: str, incoming: ChannelOrder) -> Taken:
    order = await acting_on(ctx, order_no, Permission.ORDER_EDIT)
    if order.channel_updated_at is not None and incoming.updated_at <= order.channel_updated_at:
        return Taken(Outcome.UNCHANGED, order.order_no)
    order.channel_updated_at = incoming.updated_at
    if incoming.state == UpstreamState.CANCELLED:
        return await _cancel(ctx, channel, order, incoming)
    outcome = Outcome.UNCHANGED
    if incoming.payment == ChannelPayment.PAID and order.payment_status == PaymentStatus.UNPAID:
        await _paid(ctx, channel, order, incoming)
        outcome = Outcome.UPDATED
    skus = await mapping.sku_map(ctx, channel)
    wanted = [(mapping.our_sku(line, skus), line.qty, line.unit_price) for line in incoming.lines]
    have = [(line.sku, line.qty, line.unit_price) for line in order.lines]
    moved_address = incoming.ship_to is not None and dict(incoming.ship_to) != order.ship_to
    if wanted == have and not moved_address:
        return Taken(outcome, order.order_no)
    if not can(order, "edit"):
        detail = _difference(have, wanted, moved_address)
        _ask(ctx, channel, order, "changed_after_allocation", detail)
        return Taken(Outcome.ATTENTION, order.order_no)
    order.price_breakdown = _prices(channel, incoming).breakdown()
    lines = tuple(DraftLine(sku, qty) for sku, qty, _ in wanted) if wanted != have else None
    await edit_order(ctx, order.order_no, OrderEdit(lines=lines, ship_to=incoming.ship_to if moved_address else None))
    _ask_if_held(ctx, channel, order)
    return Taken(Outcome.UPDATED, order.order_no)


async def _cancel(ctx: Context, channel: Channel, order: Order, incoming: ChannelOrder) -> Taken:
    if order.status == OrderStatus.CANCELLED:
        return Taken(Outcome.UNCHANGED, order.order_no)
    why = f"cancelled on {channel.name}" + (f" ({incoming.cancel_reason})" if incoming.cancel_reason else "")
    if can(order, "cancel"):
        await cancellation.cancel(ctx, order.order_no, why)
        return Taken(Outcome.CANCELLED, order.order_no)
    _ask(ctx, channel, order, "cancelled_after_shipping", incoming.cancel_reason or "-")
    return Taken(Outcome.ATTENTION, order.order_no)


async def _paid(ctx: Context, channel: Channel, order: Order, incoming: ChannelOrder) -> None:
    reference = f"{channel.code} {incoming.display_no}"
    if can(order, "pay"):
        await payments.confirm_payment(ctx, order.order_no, reference=reference)
        return
    # Held (or not yet validated): the money is taken; the order goes on once a person fixes it.
    order.payment_status, order.paid_amount = PaymentStatus.PAID, order.total
    audit(ctx, entity="order", key=order.order_no, order_id=order.id, action="payment_confirmed", reason=reference)


def _prices(channel: Channel, incoming: ChannelOrder) -> ChannelPrices:
    return ChannelPrices(
        channel=channel.code,
        units=tuple(line.unit_price for line in incoming.lines),
        shipping=incoming.shipping,
        discount=incoming.discount,
        total=incoming.total,
    )


def _ask_if_held(ctx: Context, channel: Channel, order: Order) -> None:
    if order.status == OrderStatus.ON_HOLD:
        _ask(ctx, channel, order, "held", "; ".join(str(r.get("message", "")) for r in order.hold_reasons))


def _ask(ctx: Context, channel: Channel, order: Order, problem: str, detail: str) -> None:
    record(
        ctx,
        ChannelOrderNeedsAttention(
            order_no=order.order_no,
            channel=channel.code,
            channel_order_no=order.channel_order_no or "",
            problem=problem,
            detail=detail,
            at=ctx.now(),
        ),
    )


def _difference(have: list[tuple[str, int, Decimal]], wanted: list[tuple[str, int, Decimal]], address: bool) -> str:
    """``TEA-001 ×2→×3; CUP-01 ×0→×1; ship_to``: what the channel changed, in SKUs and quantities."""
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    for sku, qty, _ in have:
        before[sku] = before.get(sku, 0) + qty
    for sku, qty, _ in wanted:
        after[sku] = after.get(sku, 0) + qty
    parts = [
        f"{sku} ×{before.get(sku, 0)}→×{after.get(sku, 0)}"
        for sku in dict.fromkeys([*before, *after])
        if before.get(sku, 0) != after.get(sku, 0)
    ]
    if not parts and have != wanted:
        parts.append("prices")
    if address:
        parts.append("ship_to")
    return "; ".join(parts)
