"""Settling a period's rebate as a credit note, which finance approves (or rejects) on a card.

A period is settled when it ends (the ``rebate.settle`` timer the first accrual set), or earlier by
finance (``/rebate C001 settle [period]``). The note is for what the period's rows add up to less
what notes already pending or approved for it cover, so settling twice never pays twice; a note
finance rejects leaves the period unsettled. An approved note is credit for the next orders
(``core.rebates.credit``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.customers.models import Customer
from core.errors import CustomerNotFound
from core.events.catalogue import CreditNoteDecided, CreditNoteRequested
from core.events.store import record
from core.orders.numbering import next_number
from core.rebates import ledger
from core.rebates.errors import (
    CreditNoteDecided as AlreadyDecided,
)
from core.rebates.errors import (
    CreditNoteNotFound,
    NoRebateAgreement,
    NothingToSettle,
    SettlementPending,
)
from core.rebates.models import CreditNote, CreditNoteStatus, RebateAgreement, RebateEntry
from core.rebates.terms import ZERO, parse_period, period_label, period_of, rate_for, steps_of

KIND = ledger.SETTLE
COUNTED = (CreditNoteStatus.PENDING, CreditNoteStatus.APPROVED)


async def customer_by_code(ctx: Context, code: str) -> Customer:
    customer = (await ctx.session.scalars(select(Customer).where(Customer.code == code.strip()))).one_or_none()
    if customer is None:
        raise CustomerNotFound(customer=code.strip())
    return customer


async def settle(ctx: Context, customer_code: str, period: str | None = None) -> CreditNote:
    """Finance settles a period now: the one named, else the latest ended period left unsettled,
    else the current one (a distributor leaving mid-period)."""
    ctx.actor.require(Permission.PAYMENT_CONFIRM)
    customer = await customer_by_code(ctx, customer_code)
    agreement = await ledger.agreement_for(ctx, customer)
    if agreement is None:
        raise NoRebateAgreement(customer=customer.code)
    if period is not None:
        start = parse_period(agreement.period, period)
    else:
        start = await _unsettled_period(ctx, agreement, customer)
    return await settle_period(ctx, agreement, customer, start)


async def _unsettled_period(ctx: Context, agreement: RebateAgreement, customer: Customer) -> date:
    current, _ = period_of(agreement.period, ledger.local_day(ctx))
    starts = await ctx.session.scalars(
        select(RebateEntry.period_start)
        .where(RebateEntry.agreement_id == agreement.id, RebateEntry.customer_id == customer.id)
        .group_by(RebateEntry.period_start)
        .order_by(RebateEntry.period_start.desc())
    )
    for start in starts:
        if start < current and await _unsettled(ctx, agreement, customer, start) > 0:
            return start
    return current


async def _covered(ctx: Context, agreement: RebateAgreement, customer: Customer, start: date) -> Decimal:
    total = await ctx.session.scalar(
        select(func.coalesce(func.sum(CreditNote.amount), 0)).where(
            CreditNote.agreement_id == agreement.id,
            CreditNote.customer_id == customer.id,
            CreditNote.period_start == start,
            CreditNote.status.in_(list(COUNTED)),
        )
    )
    return Decimal(str(total)).quantize(ZERO)


async def _unsettled(ctx: Context, agreement: RebateAgreement, customer: Customer, start: date) -> Decimal:
    totals = await ledger.totals(ctx, agreement.id, customer.id, start)
    return totals.rebate - await _covered(ctx, agreement, customer, start)


async def settle_period(ctx: Context, agreement: RebateAgreement, customer: Customer, start: date) -> CreditNote:
    label = period_label(agreement.period, start)
    pending = (
        await ctx.session.scalars(
            select(CreditNote).where(
                CreditNote.agreement_id == agreement.id,
                CreditNote.customer_id == customer.id,
                CreditNote.period_start == start,
                CreditNote.status == CreditNoteStatus.PENDING,
            )
        )
    ).first()
    if pending is not None:
        raise SettlementPending(note_no=pending.note_no, period=label)
    totals = await ledger.totals(ctx, agreement.id, customer.id, start)
    amount = totals.rebate - await _covered(ctx, agreement, customer, start)
    if amount <= 0:
        raise NothingToSettle(customer=customer.code, period=label)
    now = ctx.now()
    _, end = period_of(agreement.period, start)
    note = CreditNote(
        note_no=await next_number(ctx, "credit_note", "CN"),
        customer_id=customer.id,
        agreement_id=agreement.id,
        period_start=start,
        period_end=end,
        net_sales=totals.net_sales,
        rate=rate_for(steps_of(agreement.steps), totals.net_sales),
        amount=amount,
        status=CreditNoteStatus.PENDING,
        requested_by=ctx.actor.name,
        created_at=now,
    )
    ctx.session.add(note)
    await ctx.session.flush()
    audit(ctx, entity="credit_note", key=note.note_no, action="request", to_state="pending", amount=str(amount))
    record(
        ctx,
        CreditNoteRequested(
            note_no=note.note_no,
            customer=customer.code,
            customer_name=customer.name,
            agreement=agreement.name,
            period=label,
            net_sales=note.net_sales,
            rate=note.rate,
            amount=amount,
            at=now,
        ),
    )
    return note


async def on_timer(ctx: Context, payload: dict[str, Any]) -> None:
    """A period ended: settle it, unless nothing is left to settle or a note already waits."""
    agreement = await ctx.session.get(RebateAgreement, payload["agreement_id"])
    customer = await ctx.session.get(Customer, payload["customer_id"])
    if agreement is None or customer is None:
        return
    try:
        await settle_period(ctx, agreement, customer, date.fromisoformat(payload["period_start"]))
    except (NothingToSettle, SettlementPending):
        return


async def credit_note(ctx: Context, note_no: str, *, for_update: bool = False) -> CreditNote:
    stmt = select(CreditNote).where(CreditNote.note_no == note_no.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    note = (await ctx.session.scalars(stmt)).one_or_none()
    if note is None:
        raise CreditNoteNotFound(note_no=note_no.strip().upper())
    return note


async def decide(ctx: Context, note_no: str, *, approve: bool, reason: str | None = None) -> CreditNote:
    """Finance approves the note (the credit is the customer's to use) or rejects it; once only."""
    ctx.actor.require(Permission.PAYMENT_CONFIRM)
    note = await credit_note(ctx, note_no, for_update=True)
    if note.status != CreditNoteStatus.PENDING:
        raise AlreadyDecided(note_no=note.note_no, actor=note.decided_by or "")
    now = ctx.now()
    note.status = CreditNoteStatus.APPROVED if approve else CreditNoteStatus.REJECTED
    note.decided_by, note.decided_at, note.reason = ctx.actor.name, now, reason
    customer = await ctx.session.get(Customer, note.customer_id)
    agreement = await ctx.session.get(RebateAgreement, note.agreement_id)
    audit(
        ctx,
        entity="credit_note",
        key=note.note_no,
        action="approve" if approve else "reject",
        from_state="pending",
        to_state=str(note.status),
        reason=reason,
        amount=str(note.amount),
    )
    record(
        ctx,
        CreditNoteDecided(
            note_no=note.note_no,
            customer=customer.code,
            status=str(note.status),
            amount=note.amount,
            period=period_label(agreement.period, note.period_start),
            actor=ctx.actor.name,
            reason=reason,
            at=now,
        ),
    )
    await ctx.session.flush()
    return note
