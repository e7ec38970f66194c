"""Rebates in chat: finance gets a card for each credit note to approve, the customer hears when a
note is approved and when their volume reaches a new step, and the card closes for everyone once
the note is decided (by a tap or by ``/creditnote``)."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery import card_changed, customer_users, tell, users_with_role
from bot.i18n import N_
from bot.labels import money
from bot.models import Card, CardKind, CardState
from core.context import Context
from core.customers.models import Customer
from core.events.catalogue import CreditNoteDecided, CreditNoteRequested, RebateAccrued


async def _customer_id(ctx: Context, code: str) -> int | None:
    return await ctx.session.scalar(select(Customer.id).where(Customer.code == code))


async def open_credit_note(ctx: Context, event: CreditNoteRequested) -> None:
    now = ctx.now()
    card = Card(
        kind=CardKind.CREDIT_NOTE,
        order_id=None,
        order_no=event.note_no,
        version=1,
        state=CardState.OPEN,
        payload={
            "customer": event.customer_name,
            "customer_code": event.customer,
            "agreement": event.agreement,
            "period": event.period,
            "net_sales": str(event.net_sales),
            "rate": str(event.rate),
            "total": str(event.amount),
            "currency": ctx.settings.currency,
        },
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(card)
    await ctx.session.flush()
    tell(ctx, await users_with_role(ctx, "finance"), "", card=card)


async def close_credit_note(ctx: Context, event: CreditNoteDecided) -> None:
    cards = await ctx.session.scalars(
        select(Card)
        .where(Card.kind == CardKind.CREDIT_NOTE, Card.order_no == event.note_no, Card.state == CardState.OPEN)
        .with_for_update()
    )
    for card in cards:
        card.state = CardState.CLOSED
        card.outcome = {
            "action": "approve" if event.status == "approved" else "reject",
            "actor": event.actor,
            "at": event.at.isoformat(),
            "status": event.status,
            "reason": event.reason,
        }
        card.updated_at = ctx.now()
        await card_changed(ctx, card)
    customer_id = await _customer_id(ctx, event.customer)
    if event.status == "approved" and customer_id is not None:
        tell(
            ctx,
            await customer_users(ctx, customer_id),
            N_("Your rebate for {period} is settled: credit note {note_no} of {amount} comes off your next orders."),
            period=event.period,
            note_no=event.note_no,
            amount=money(event.amount),
        )


async def on_rebate_accrued(ctx: Context, event: RebateAccrued) -> None:
    """A new step reached (or lost by a return): the customer and sales hear the new rate."""
    if not event.step_changed:
        return
    customer_id = await _customer_id(ctx, event.customer)
    if customer_id is None:
        return
    params = {"period": event.period, "rate": f"{event.rate.normalize():f}%", "net": money(event.period_net)}
    tell(
        ctx,
        await customer_users(ctx, customer_id),
        N_("Your rebate for {period} is now {rate} of your net sales ({net})."),
        **params,
    )
    tell(
        ctx,
        await users_with_role(ctx, "sales"),
        N_("{customer}'s rebate for {period} is now {rate} (net sales {net})."),
        customer=event.customer,
        **params,
    )
