"""Running an order as a project contract: enter it, give it milestones, accept them in order
(each accepted milestone becomes an invoice, after an approval step where a rule asks for one),
and take payments against those invoices.

A contract is an ``Order`` of kind ``contract``: its total is the contract value, it has no lines,
and it goes through review like any order (``order.kind == "contract"`` is visible to the rules).
Once confirmed it stays ``confirmed`` while the project runs; milestones and costs are added
then, and the last invoice paid completes it. An invoice is a receivable on the customer (their
outstanding balance) and on the order; ``/pay`` settles the oldest unpaid one.

Milestones (``pending → [in_review →] invoiced → paid``):

    pending ─accept─▶ invoiced                 (no rule asks for approval)
    pending ─accept─▶ in_review ─approve…─▶ invoiced    (the last step's approval issues it)
    in_review ─reject─▶ pending                (back to the salesperson, a fresh overdue clock)
    invoiced ─pay─▶ paid

They are accepted in order: milestone 3 waits until milestone 2 is invoiced, so invoices follow
the project's progress and nobody bills the handover before the design.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import func, select

from core.audit.record import audit
from core.auth import NotYourApprovalStep, Permission, Role
from core.context import Context
from core.contracts import overdue
from core.contracts.errors import (
    ContractClosed,
    ContractHasUnpaidInvoices,
    ContractNotRunning,
    ContractValueNotPositive,
    MilestoneAlreadyAccepted,
    MilestoneAlreadyApproved,
    MilestoneNotFound,
    MilestoneNotInReview,
    MilestoneOutOfOrder,
    MilestonesExceedValue,
    NoProjectName,
    NotAContract,
    NothingToPay,
)
from core.contracts.models import Milestone, MilestoneStatus
from core.contracts.terms import HUNDRED, MilestoneTerms
from core.customers import balance
from core.customers.models import Customer
from core.errors import CustomerNotFound
from core.events.catalogue import MilestoneApprovalRequested, MilestoneInvoiced, MilestoneRejected, OrderReceived
from core.events.store import record
from core.orders import approvals
from core.orders.confirmation import confirm_or_review
from core.orders.errors import PaymentNotDue, RejectionNeedsReason
from core.orders.history import change_status
from core.orders.lifecycle import can
from core.orders.models import Order
from core.orders.numbering import next_number
from core.orders.placement import _check_own_account
from core.orders.repository import acting_on
from core.orders.review import Decision, ReviewDecision, above_threshold
from core.orders.status import OrderKind, OrderStatus, PaymentStatus, PaymentTerms

ZERO = Decimal("0.00")
# Milestones may be added while the contract is entered, reviewed or running; not once it ended.
OPEN_FOR_MILESTONES = frozenset({OrderStatus.RECEIVED, OrderStatus.PENDING_APPROVAL, OrderStatus.CONFIRMED})


class MilestoneReview(Protocol):
    async def decide_milestone(self, ctx: Context, order: Order, milestone: Milestone) -> ReviewDecision: ...


async def _decide(ctx: Context, order: Order, milestone: Milestone) -> ReviewDecision:
    """The workflow rules (``on: milestone.accepted``) when loaded; else the approval threshold."""
    policy = ctx.review_policy
    decide = getattr(policy, "decide_milestone", None)
    if decide is not None:
        return await decide(ctx, order, milestone)
    threshold = ctx.settings.approval_threshold
    if milestone.amount > threshold:
        reason = above_threshold("milestone", milestone.amount, threshold)
        return ReviewDecision(Decision.REVIEW, "approval_threshold", reason)
    return ReviewDecision(Decision.CONFIRM)


@dataclass(frozen=True)
class ContractDraft:
    customer: str
    project: str
    value: Decimal
    milestones: tuple[MilestoneTerms, ...] = ()
    note: str | None = None


async def create_contract(ctx: Context, draft: ContractDraft) -> Order:
    """Enter a contract (with its milestones, all or none) and send it to review or confirmation."""
    ctx.actor.require(Permission.ORDER_CREATE)
    project = draft.project.strip()
    if not project:
        raise NoProjectName()
    if not draft.value.is_finite() or draft.value <= 0:
        raise ContractValueNotPositive(value=f"{draft.value:f}")
    _check_shares(draft.value, [], list(draft.milestones))
    await _check_own_account(ctx, draft.customer)
    customer = (
        await ctx.session.scalars(select(Customer).where(Customer.code == draft.customer.strip()))
    ).one_or_none()
    if customer is None:
        raise CustomerNotFound(customer=draft.customer.strip())
    now = ctx.now()
    order = Order(
        order_no=await next_number(ctx, "order", "SO"),
        kind=OrderKind.CONTRACT,
        project_name=project,
        customer_id=customer.id,
        customer=customer,
        status=OrderStatus.RECEIVED,
        payment_status=PaymentStatus.UNPAID,
        payment_terms=PaymentTerms.CREDIT,  # invoiced milestone by milestone, paid afterwards
        currency=ctx.settings.currency,
        ship_to={},
        subtotal=draft.value,
        total=draft.value,
        note=draft.note,
        salesperson_id=ctx.actor.user_id,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    order.lines = []
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
        kind=OrderKind.CONTRACT.value,
        project=project,
        value=str(draft.value),
    )
    record(ctx, OrderReceived(order_no=order.order_no, customer=customer.code, channel=order.channel, at=now))
    for seq, terms in enumerate(draft.milestones, start=1):
        await _add(ctx, order, seq, terms, draft.value)
    await confirm_or_review(ctx, order)
    return order


def _check_shares(value: Decimal, existing: list[Milestone], new: list[MilestoneTerms]) -> None:
    """Refuse milestones that would together ask for more than the contract value."""
    given = [(m.percent, m.amount) for m in existing]
    for terms in new:
        amount = _amount(value, given, terms)
        allocated = sum((a for _, a in given), ZERO)
        if allocated + amount > value:
            raise MilestonesExceedValue(
                name=terms.name, amount=amount, value=value, allocated=allocated, left=value - allocated
            )
        given.append((terms.share.percent, amount))


def _amount(value: Decimal, given: list[tuple[Decimal | None, Decimal]], terms: MilestoneTerms) -> Decimal:
    """A percentage share, rounded to the cent; the share that brings percentages to 100 takes
    exactly what is left, so 50 % + 50 % of 100.01 is 50.01 + 50.00, never a cent too many."""
    percent = terms.share.percent
    if percent is not None and all(p is not None for p, _ in given):
        if sum((p for p, _ in given if p is not None), Decimal(0)) + percent == HUNDRED:
            return value - sum((a for _, a in given), ZERO)
    return terms.share.of(value)


async def _add(ctx: Context, order: Order, seq: int, terms: MilestoneTerms, value: Decimal) -> Milestone:
    existing = await milestones_of(ctx, order)
    _check_shares(value, existing, [terms])
    milestone = Milestone(
        order_id=order.id,
        seq=seq,
        name=terms.name,
        percent=terms.share.percent,
        amount=_amount(value, [(m.percent, m.amount) for m in existing], terms),
        due_on=terms.due_on,
        status=MilestoneStatus.PENDING,
        approval_levels=[],
        approved_by=[],
        created_at=ctx.now(),
    )
    ctx.session.add(milestone)
    await ctx.session.flush()
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="add_milestone",
        reason=f"milestone {seq}: {terms.name}",
        amount=str(milestone.amount),
        due_on=terms.due_on.isoformat(),
    )
    await overdue.watch(ctx, order, milestone)
    return milestone


async def milestones_of(ctx: Context, order: Order) -> list[Milestone]:
    return list(
        await ctx.session.scalars(select(Milestone).where(Milestone.order_id == order.id).order_by(Milestone.seq))
    )


async def _contract(ctx: Context, order_no: str, permission: Permission) -> Order:
    order = await acting_on(ctx, order_no, permission)
    if order.kind != OrderKind.CONTRACT:
        raise NotAContract(order_no=order.order_no)
    return order


def _running(order: Order) -> None:
    if order.status != OrderStatus.CONFIRMED:
        raise ContractNotRunning(order_no=order.order_no, state=OrderStatus(order.status))


async def add_milestone(ctx: Context, order_no: str, terms: MilestoneTerms) -> Milestone:
    order = await _contract(ctx, order_no, Permission.ORDER_EDIT)
    if order.status not in OPEN_FOR_MILESTONES:
        raise ContractClosed(order_no=order.order_no, state=OrderStatus(order.status))
    count = await ctx.session.scalar(select(func.count(Milestone.id)).where(Milestone.order_id == order.id))
    milestone = await _add(ctx, order, int(count or 0) + 1, terms, order.total)
    order.updated_at = ctx.now()
    return milestone


async def _milestone(ctx: Context, order: Order, seq: int) -> tuple[Milestone, list[Milestone]]:
    every = await milestones_of(ctx, order)
    found = [m for m in every if m.seq == seq]
    if not found:
        raise MilestoneNotFound(order_no=order.order_no, seq=seq, count=len(every))
    return found[0], every


async def accept_milestone(ctx: Context, order_no: str, seq: int) -> Milestone:
    """The customer accepted the work of milestone ``seq``: invoice it, or open its approval."""
    order = await _contract(ctx, order_no, Permission.ORDER_EDIT)
    _running(order)
    milestone, every = await _milestone(ctx, order, seq)
    if milestone.status != MilestoneStatus.PENDING:
        raise MilestoneAlreadyAccepted(order_no=order.order_no, seq=seq)
    waiting = [m for m in every if m.seq < seq and m.status in (MilestoneStatus.PENDING, MilestoneStatus.IN_REVIEW)]
    if waiting:
        raise MilestoneOutOfOrder(order_no=order.order_no, seq=seq, earlier=waiting[0].seq, name=waiting[0].name)
    milestone.accepted_by, milestone.accepted_at = ctx.actor.name, ctx.now()
    await overdue.forget(ctx, order, milestone)
    audit(ctx, entity="order", key=order.order_no, order_id=order.id, action="accept_milestone", reason=milestone.name)
    decision = await _decide(ctx, order, milestone)
    if decision.decision == Decision.REVIEW:
        levels = decision.levels or [decision.approvers or {"role": Role.APPROVER.value}]
        milestone.status = MilestoneStatus.IN_REVIEW
        milestone.approval_levels = [dict(level) for level in levels]
        milestone.approval_level, milestone.approved_by, milestone.rule = 0, [], decision.rule
        _announce(ctx, order, milestone)
        return milestone
    await _invoice(ctx, order, milestone)
    return milestone


def _announce(ctx: Context, order: Order, milestone: Milestone) -> None:
    level = milestone.approval_levels[milestone.approval_level]
    record(
        ctx,
        MilestoneApprovalRequested(
            order_no=order.order_no,
            seq=milestone.seq,
            milestone=milestone.name,
            amount=milestone.amount,
            approvers={k: v for k, v in level.items() if k in ("role", "user")},
            level=milestone.approval_level,
            levels=len(milestone.approval_levels),
            rule=milestone.rule,
            at=ctx.now(),
        ),
    )


async def approve_milestone(ctx: Context, order_no: str, seq: int) -> Milestone:
    """Record the actor's approval on the milestone's open step; the last step issues the invoice."""
    order = await _contract(ctx, order_no, Permission.ORDER_APPROVE)
    milestone, _ = await _milestone(ctx, order, seq)
    if milestone.status != MilestoneStatus.IN_REVIEW:
        raise MilestoneNotInReview(order_no=order.order_no, seq=seq)
    level = milestone.approval_levels[milestone.approval_level]
    target = {k: v for k, v in level.items() if k in ("role", "user")}
    actor = ctx.actor
    if not approvals._may_act(actor, target):
        raise NotYourApprovalStep(
            actor=actor.name,
            permission=Permission.ORDER_APPROVE,
            order_no=f"{order.order_no} M{seq}",
            step=milestone.approval_level + 1,
            approver=target["user"] if "user" in target else Role(target["role"]),
        )
    if actor.name in milestone.approved_by:
        raise MilestoneAlreadyApproved(order_no=order.order_no, seq=seq)
    milestone.approved_by = [*milestone.approved_by, actor.name]
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="approve_milestone",
        reason=f"milestone {seq}, step {milestone.approval_level + 1} of {len(milestone.approval_levels)}",
    )
    step = SimpleNamespace(target=target, approved_by=milestone.approved_by)
    if level.get("mode") == "all" and not await approvals._everyone(ctx, step):  # type: ignore[arg-type]
        return milestone
    if milestone.approval_level + 1 < len(milestone.approval_levels):
        milestone.approval_level += 1
        milestone.approved_by = []
        _announce(ctx, order, milestone)
        return milestone
    await _invoice(ctx, order, milestone)
    return milestone


async def reject_milestone(ctx: Context, order_no: str, seq: int, reason: str) -> Milestone:
    if not reason.strip():
        raise RejectionNeedsReason(order_no=f"{order_no.strip().upper()} M{seq}")
    order = await _contract(ctx, order_no, Permission.ORDER_APPROVE)
    milestone, _ = await _milestone(ctx, order, seq)
    if milestone.status != MilestoneStatus.IN_REVIEW:
        raise MilestoneNotInReview(order_no=order.order_no, seq=seq)
    milestone.status = MilestoneStatus.PENDING
    milestone.approval_levels, milestone.approved_by, milestone.approval_level = [], [], 0
    milestone.accepted_by = milestone.accepted_at = None
    milestone.round += 1
    audit(ctx, entity="order", key=order.order_no, order_id=order.id, action="reject_milestone", reason=reason)
    record(
        ctx,
        MilestoneRejected(
            order_no=order.order_no,
            seq=seq,
            milestone=milestone.name,
            actor=ctx.actor.name,
            reason=reason,
            at=ctx.now(),
        ),
    )
    await overdue.watch(ctx, order, milestone)
    return milestone


async def _invoice(ctx: Context, order: Order, milestone: Milestone) -> None:
    """Issue the milestone's invoice: the customer owes it (no credit hold: the contract was reviewed)."""
    milestone.status = MilestoneStatus.INVOICED
    milestone.invoice_no = f"{order.order_no}-M{milestone.seq}"
    milestone.invoiced_at = ctx.now()
    await balance.charge(ctx, order.customer_id, milestone.amount, within_limit=False)
    order.updated_at = ctx.now()
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="invoice_milestone",
        reason=milestone.invoice_no,
        amount=str(milestone.amount),
    )
    record(
        ctx,
        MilestoneInvoiced(
            order_no=order.order_no,
            seq=milestone.seq,
            milestone=milestone.name,
            amount=milestone.amount,
            invoice_no=milestone.invoice_no,
            at=ctx.now(),
        ),
    )


async def check_cancellable(ctx: Context, order: Order) -> list[Milestone]:
    """Refuse to cancel a contract whose invoices are not all paid (finance settles or credits them
    first, so no receivable is left on an ended contract); return its milestones."""
    every = await milestones_of(ctx, order)
    unpaid = [m.invoice_no or f"{order.order_no}-M{m.seq}" for m in every if m.status == MilestoneStatus.INVOICED]
    if unpaid:
        raise ContractHasUnpaidInvoices(order_no=order.order_no, invoices=unpaid)
    return every


def drop_open_milestones(ctx: Context, order: Order, every: list[Milestone]) -> None:
    """The contract is cancelled: what was not invoiced never will be (pending ones, and those
    waiting for an invoice approval)."""
    for milestone in every:
        if milestone.status in (MilestoneStatus.PENDING, MilestoneStatus.IN_REVIEW):
            milestone.status = MilestoneStatus.CANCELLED
            milestone.approval_levels, milestone.approved_by, milestone.approval_level = [], [], 0
    if any(m.status == MilestoneStatus.CANCELLED for m in every):
        audit(
            ctx,
            entity="order",
            key=order.order_no,
            order_id=order.id,
            action="drop_milestones",
            reason=", ".join(str(m.seq) for m in every if m.status == MilestoneStatus.CANCELLED),
        )


async def pay_invoice(ctx: Context, order: Order, reference: str | None) -> Milestone:
    """Finance confirms the oldest unpaid milestone invoice paid (the caller checked permission)."""
    if order.status == OrderStatus.CANCELLED:
        raise PaymentNotDue(order_no=order.order_no, state=OrderStatus(order.status))
    invoiced = [m for m in await milestones_of(ctx, order) if m.status == MilestoneStatus.INVOICED]
    if not invoiced:
        raise NothingToPay(order_no=order.order_no)
    milestone = invoiced[0]
    milestone.status, milestone.paid_at = MilestoneStatus.PAID, ctx.now()
    order.paid_amount += milestone.amount
    if order.paid_amount >= order.total:
        order.payment_status = PaymentStatus.PAID
    order.updated_at = ctx.now()
    await balance.credit(ctx, order.customer_id, milestone.amount)
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="payment_confirmed",
        reason=reference,
        amount=str(milestone.amount),
        invoice=milestone.invoice_no,
    )
    if order.payment_status == PaymentStatus.PAID and can(order, "finish_contract"):
        await change_status(ctx, order, "finish_contract", reason="every milestone invoiced and paid")
    return milestone


def facts(milestone: Milestone) -> dict[str, Any]:
    """What a ``milestone.accepted`` rule sees as ``milestone.*`` (money as numbers)."""
    return {
        "seq": milestone.seq,
        "name": milestone.name,
        "amount": float(milestone.amount),
        "percent": float(milestone.percent) if milestone.percent is not None else None,
        "due_on": milestone.due_on.isoformat(),
    }
