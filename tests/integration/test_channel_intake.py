"""A channel's orders taken in: once each, at the channel's prices, in their latest state, and
held (never refused) when a person must look; the same path for webhooks and the poll."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from bot import gateway
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.outbox.models import OutboxMessage
from core.channels.fixes import map_sku
from core.channels.intake import Outcome
from core.channels.normalised import ChannelPayment, UpstreamState
from core.customers.models import Customer
from core.orders.models import Order
from core.orders.status import OrderStatus
from tests.support.channel_orders import channel_order, shop, take
from tests.support.service_calls import as_user, detail, events, stock
from tests.support.workflow_rules import rules


async def outbox(services) -> list[OutboxMessage]:
    async with services.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def _orders(services) -> int:
    return await as_user(services, None, lambda ctx: ctx.session.scalar(select(func.count(Order.id))))


async def test_a_paid_order_is_created_once_at_the_channels_prices_and_goes_to_the_warehouse(services):
    await shop(services)
    first = await take(services, channel_order())
    again = await take(services, channel_order())
    assert first.outcome == Outcome.CREATED and again.outcome == Outcome.UNCHANGED
    assert again.order_no == first.order_no and await _orders(services) == 1
    order = await detail(services, first.order_no)
    assert order["channel"] == "SHOP1"
    assert (order["channel_order_id"], order["channel_order_no"]) == ("820982911946154508", "#1001")
    assert order["payment_status"] == "paid" and order["status"] == "ready_to_pick"
    assert [(line["sku"], line["qty"], line["unit_price"]) for line in order["lines"]] == [("TEA-001", 2, "99.00")]
    # The buyer paid 2 × 99 − 8 + 10 shipping: kept, not re-priced from our lists (TEA-001 lists at 128).
    assert (order["subtotal"], order["discount_total"], order["total"]) == ("198.00", "8.00", "200.00")
    assert order["price_breakdown"]["source"] == "channel"
    assert {a["kind"] for a in order["price_breakdown"]["adjustments"]} == {"channel_discount", "shipping"}
    assert await stock(services, "TEA-001", "SH") == (100, 2)


async def test_a_new_buyer_becomes_a_customer_of_the_channels_tier_and_is_matched_next_time(services):
    await shop(services)
    await take(services, channel_order("1"))
    await take(services, channel_order("2", customer=replace(channel_order().customer, channel_customer_id="other")))
    customers = await as_user(
        services, None, lambda ctx: ctx.session.scalars(select(Customer).where(Customer.code.like("SHOP1-%")))
    )
    assert [(c.code, c.tier, c.phone) for c in customers] == [("SHOP1-115310627314723954", "standard", "13912345678")]


async def test_a_known_customer_is_matched_by_phone(services):
    await shop(services)
    buyer = replace(channel_order().customer, phone="13800138000", email=None)
    taken = await take(services, channel_order(customer=buyer))
    assert (await detail(services, taken.order_no))["customer"]["code"] == "C001"


async def test_an_unknown_sku_holds_the_order_and_a_mapping_fixes_it_and_the_next_one(services):
    await shop(services)
    held = await take(services, channel_order("1", lines=(("SHOP-CUP-BLUE", 1, "40.00"),)))
    order = await detail(services, held.order_no)
    assert order["status"] == "on_hold" and order["hold_reasons"][0]["code"] == "data"
    assert order["lines"][0]["unit_price"] == "40.00"  # the channel's price is known even before the SKU
    [asked] = await events(services, "channel.order_needs_attention")
    assert (asked["problem"], asked["order_no"], asked["channel_order_no"]) == ("held", held.order_no, "#1001")
    assert "SHOP-CUP-BLUE" in asked["detail"]

    await as_user(services, "李雷", lambda ctx: map_sku(ctx, held.order_no, "shop-cup-blue", "cup-01"))
    fixed = await detail(services, held.order_no)
    assert fixed["status"] != "on_hold" and fixed["lines"][0]["sku"] == "CUP-01"
    assert fixed["lines"][0]["unit_price"] == "40.00"

    next_one = await take(services, channel_order("2", lines=(("SHOP-CUP-BLUE", 1, "40.00"),)))
    assert (await detail(services, next_one.order_no))["status"] == "ready_to_pick"


async def test_a_redacted_buyer_and_address_hold_the_order_instead_of_refusing_it(services):
    await shop(services)
    taken = await take(services, channel_order(customer=None, ship_to=None))
    order = await detail(services, taken.order_no)
    assert order["status"] == "on_hold"
    assert order["customer"]["code"] == "SHOP1-GUEST"
    assert {r["code"] for r in order["hold_reasons"]} == {"data", "address"}


async def test_a_price_below_cost_holds_for_price(services):
    await shop(services)
    taken = await take(services, channel_order(lines=(("SHOPIFY-TEA", 1, "50.00"),)))  # cost 60
    order = await detail(services, taken.order_no)
    assert order["status"] == "on_hold" and [r["code"] for r in order["hold_reasons"]] == ["price"]


async def test_cash_on_delivery_orders_are_cod_and_pending_ones_wait_for_payment(services):
    await shop(services)
    cod = await take(services, channel_order("1", payment=ChannelPayment.COD))
    pending = await take(services, channel_order("2", payment=ChannelPayment.PENDING))
    assert (await detail(services, cod.order_no))["payment_terms"] == "cod"
    waiting = await detail(services, pending.order_no)
    assert (waiting["status"], waiting["payment_status"]) == ("awaiting_payment", "unpaid")
    paid = await take(services, channel_order("2", payment=ChannelPayment.PAID, minutes=5))
    assert paid.outcome == Outcome.UPDATED
    assert (await detail(services, pending.order_no))["status"] == "ready_to_pick"


async def test_an_older_update_is_ignored_and_a_newer_one_edits_a_held_order(services):
    await shop(services)
    held = await take(services, channel_order(ship_to=None, minutes=10))
    older = await take(services, channel_order(lines=(("SHOPIFY-TEA", 5, "99.00"),), minutes=5))
    assert older.outcome == Outcome.UNCHANGED
    assert (await detail(services, held.order_no))["lines"][0]["qty"] == 2
    newer = await take(services, channel_order(lines=(("SHOPIFY-TEA", 3, "99.00"),), minutes=20))
    assert newer.outcome == Outcome.UPDATED
    order = await detail(services, held.order_no)
    assert order["lines"][0]["qty"] == 3 and order["status"] == "ready_to_pick"  # the address came too
    assert order["subtotal"] == "297.00"


async def test_a_change_after_allocation_asks_a_person_and_changes_nothing(services):
    await shop(services)
    taken = await take(services, channel_order())
    changed = await take(services, channel_order(lines=(("SHOPIFY-TEA", 5, "99.00"),), minutes=5))
    assert changed.outcome == Outcome.ATTENTION
    order = await detail(services, taken.order_no)
    assert order["lines"][0]["qty"] == 2 and await stock(services, "TEA-001", "SH") == (100, 2)
    [asked] = await events(services, "channel.order_needs_attention")
    assert asked["problem"] == "changed_after_allocation" and asked["detail"] == "TEA-001 ×2→×5"


async def test_a_cancellation_upstream_cancels_and_frees_the_stock(services):
    await shop(services)
    taken = await take(services, channel_order())
    cancelled = await take(services, channel_order(state=UpstreamState.CANCELLED, cancel_reason="customer", minutes=5))
    assert cancelled.outcome == Outcome.CANCELLED
    assert (await detail(services, taken.order_no))["status"] == OrderStatus.CANCELLED
    assert await stock(services, "TEA-001", "SH") == (100, 0)


async def test_test_orders_and_orders_cancelled_before_we_saw_them_are_skipped(services):
    await shop(services)
    assert (await take(services, channel_order("1", test=True))).outcome == Outcome.SKIPPED
    assert (await take(services, channel_order("2", state=UpstreamState.CANCELLED))).outcome == Outcome.SKIPPED
    assert await _orders(services) == 0


async def test_review_rules_see_the_channel(services):
    await shop(services)
    await rules(
        services,
        """
- {name: shop-review, on: order.received, when: 'order.channel == "SHOP1"', approve: {role: approver}}
""",
    )
    taken = await take(services, channel_order())
    assert (await detail(services, taken.order_no))["status"] == "pending_approval"


async def test_service_gets_a_card_that_maps_a_near_miss_sku_in_one_tap(services):
    await shop(services, "users:\n  - {name: 客服小美, roles: [service], identities: {telegram: '77'}}\n")
    held = await take(services, channel_order(lines=(("TEA-01", 2, "99.00"),)))  # a typo for TEA-001
    await deliver_pending(services)
    [send] = [m for m in await outbox(services) if m.payload.get("card")]
    card = send.payload["card"]
    assert (send.recipient, card["kind"]) == ("77", "fix")
    assert "TEA-01 is probably TEA-001" in card["notes"]
    [fix] = card["buttons"]
    assert fix["command"] == f"/mapsku {held.order_no} TEA-01 TEA-001"  # what to type where buttons are not shown

    answer = await gateway.tap(services, Inbound("telegram", "77", "77", "cb-1"), fix["action"])
    assert answer.texts == [f"{held.order_no}: the SKUs are mapped and it was checked again."]
    order = await detail(services, held.order_no)
    assert order["status"] == "ready_to_pick" and order["lines"][0]["sku"] == "TEA-001"
    edits = [m for m in await outbox(services) if m.kind == "edit" and m.card_id == send.card_id]
    assert edits and edits[-1].payload["card"]["state"] == "closed"
    # Remembered: the next order with the same channel SKU needs nobody.
    nxt = await take(services, channel_order("2", lines=(("TEA-01", 1, "99.00"),)))
    assert (await detail(services, nxt.order_no))["status"] == "ready_to_pick"
    again = await gateway.tap(services, Inbound("telegram", "77", "77", "cb-2"), fix["action"])
    assert "Already done" in again.texts[0]
