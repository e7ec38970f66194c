"""Approval in steps: one level or several in sequence, any member of a role or all of them.

A request for review creates its steps; ``approve`` records each approver on the open step and
moves the order on only when the last step is complete. An edit, a rejection or a cancellation
voids what is left, so approvals always belong to the order as it was when they were given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.audit.record import audit
from core.auth import Actor, NotYourApprovalStep, Permission, Role
from core.context import Context
from core.db.base import Base
from core.events import store as events
from core.events.catalogue import ApprovalProgressed, ApprovalRequested, ApprovalStepCompleted
from core.orders.errors import AlreadyApproved
from core.orders.models import Order
from core.orders.repository import fresh, innermost, still_within
from core.orders.status import ApprovalMode, ApprovalStepStatus
from core.users.models import User

_PENDING = (ApprovalStepStatus.OPEN, ApprovalStepStatus.WAITING)


class ApprovalStep(Base):
    __tablename__ = "approval_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    level: Mapped[int]
    target: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"role": "finance"} or {"user": "王芳"}
    mode: Mapped[ApprovalMode] = mapped_column(String(8), default=ApprovalMode.ANY)
    approved_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[ApprovalStepStatus] = mapped_column(String(8), default=ApprovalStepStatus.WAITING)
    created_at: Mapped[datetime]


# Built once: every tap on an approval card asks it (building a statement costs more than SQLite
# takes to run it).
_PENDING_STEPS = (
    select(ApprovalStep)
    .where(ApprovalStep.order_id == bindparam("order_id"), ApprovalStep.status.in_(_PENDING))
    .order_by(ApprovalStep.level)
    .with_for_update()
)
_READ = "oms_pending_steps"  # session.info: order id -> (its pending steps, the transaction that read them)


async def _pending_steps(ctx: Context, order: Order) -> list[ApprovalStep]:
    """The order's pending steps, locked, in level order. A tap asks twice in one savepoint (is
    the card's step still the open one, then the approval itself): the second is answered from
    the first while the transaction that read them is still open and nothing of them expired;
    only this module writes steps, and each write forgets what was read."""
    kept = ctx.session.info.get(_READ, {}).get(order.id)
    if kept is not None:
        steps, read_in = kept
        if still_within(ctx, read_in) and all(fresh(step) for step in steps):
            return steps
    steps = list(await ctx.session.scalars(_PENDING_STEPS, {"order_id": order.id}))
    ctx.session.info.setdefault(_READ, {})[order.id] = (steps, innermost(ctx))
    return steps


def _forget(ctx: Context, order: Order) -> None:
    ctx.session.info.get(_READ, {}).pop(order.id, None)


async def request(
    ctx: Context, order: Order, levels: list[dict[str, Any]], *, rule: str | None, reason: str | None
) -> None:
    await void(ctx, order)  # and what was read of the old steps is forgotten
    for index, level in enumerate(levels):
        target = {k: v for k, v in level.items() if k in ("role", "user")}
        ctx.session.add(
            ApprovalStep(
                order_id=order.id,
                level=index,
                target=target,
                mode=ApprovalMode(level.get("mode", ApprovalMode.ANY)),
                approved_by=[],
                status=ApprovalStepStatus.OPEN if index == 0 else ApprovalStepStatus.WAITING,
                created_at=ctx.now(),
            )
        )
    await ctx.session.flush()
    _announce(ctx, order, levels[0], 0, len(levels), rule=rule, reason=reason)


def _announce(
    ctx: Context, order: Order, level: dict[str, Any], index: int, count: int, *, rule: str | None, reason: str | None
) -> None:
    events.record(
        ctx,
        ApprovalRequested(
            order_no=order.order_no,
            total=order.total,
            approvers={k: v for k, v in level.items() if k in ("role", "user")},
            level=index,
            levels=count,
            rule=rule,
            reason=reason,
            at=ctx.now(),
        ),
    )


async def void(ctx: Context, order: Order) -> None:
    _forget(ctx, order)
    await ctx.session.execute(
        update(ApprovalStep)
        .where(ApprovalStep.order_id == order.id, ApprovalStep.status.in_(_PENDING))
        .values(status=ApprovalStepStatus.VOID)
        .execution_options(synchronize_session=False)
    )


def _may_act(actor: Actor, target: dict[str, Any]) -> bool:
    """The step's role or user; managers and admins too, since escalations reach them; an API key
    holding ``orders:approve`` too (its admin gave an ERP the decision, whichever step it is)."""
    if actor.roles & {Role.ADMIN, Role.MANAGER}:
        return True
    if actor.is_key:
        return actor.can(Permission.ORDER_APPROVE)
    if "user" in target:
        return actor.name == target["user"]
    return Role(target["role"]) in actor.roles


async def record(ctx: Context, order: Order) -> bool:
    """Record the actor's approval on the open step; True when the order is now fully approved."""
    steps = await _pending_steps(ctx, order)
    _forget(ctx, order)  # the approval changes them
    if not steps:
        return True  # reviewed without steps (the threshold, or older orders): one approval decides
    step, actor = steps[0], ctx.actor
    if not _may_act(actor, step.target):
        raise NotYourApprovalStep(
            actor=actor.name,
            permission=Permission.ORDER_APPROVE,
            order_no=order.order_no,
            step=step.level + 1,
            approver=step.target["user"] if "user" in step.target else Role(step.target["role"]),
        )
    if actor.name in step.approved_by:
        raise AlreadyApproved(order_no=order.order_no, step=step.level + 1)
    step.approved_by = [*step.approved_by, actor.name]
    audit(
        ctx,
        entity="order",
        key=order.order_no,
        order_id=order.id,
        action="approve_step",
        reason=f"step {step.level + 1} of {step.level + len(steps)}",
        level=step.level,
    )
    if step.mode == ApprovalMode.ALL and not await _everyone(ctx, step):
        progress = ApprovalProgressed(
            order_no=order.order_no, level=step.level, approved_by=tuple(step.approved_by), at=ctx.now()
        )
        events.record(ctx, progress)
        return False
    step.status = ApprovalStepStatus.DONE
    events.record(ctx, ApprovalStepCompleted(order_no=order.order_no, level=step.level, actor=actor.name, at=ctx.now()))
    if len(steps) == 1:
        return True
    following = steps[1]
    following.status = ApprovalStepStatus.OPEN
    _announce(
        ctx,
        order,
        {**following.target},
        following.level,
        following.level + len(steps) - 1,
        rule=None,
        reason=f"step {following.level + 1}: approved so far by {', '.join(step.approved_by)}",
    )
    return False


async def _everyone(ctx: Context, step: ApprovalStep) -> bool:
    if "user" in step.target:
        return step.target["user"] in step.approved_by
    users = await ctx.session.scalars(select(User).where(User.active.is_(True)))
    members = {u.name for u in users if step.target["role"] in u.roles}
    return members <= set(step.approved_by)


async def open_level(ctx: Context, order: Order) -> int | None:
    """The step approvers act on now; None when the review has no steps left (or never had any)."""
    steps = await _pending_steps(ctx, order)
    return next((step.level for step in steps if step.status == ApprovalStepStatus.OPEN), None)
