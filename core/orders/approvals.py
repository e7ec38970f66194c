"""Approval in steps: one level or several in sequence, any member of a role or all of them.

A request for review creates its steps; ``approve`` records each approver on the open step and
moves the order on only when the last step is complete. An edit, a rejection or a cancellation
voids what is left, so approvals always belong to the order as it was when they were given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.audit.record import audit, emit
from core.auth import Actor, NotYourApprovalStep, Permission, Role
from core.context import Context
from core.db.base import Base
from core.orders.errors import AlreadyApproved
from core.orders.models import Order
from core.users.models import User


class ApprovalStep(Base):
    __tablename__ = "approval_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    level: Mapped[int]
    target: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"role": "finance"} or {"user": "王芳"}
    mode: Mapped[str] = mapped_column(String(8), default="any")  # any | all
    approved_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(8), default="waiting")  # waiting | open | done | void
    created_at: Mapped[datetime]


async def request(
    ctx: Context, order: Order, levels: list[dict[str, Any]], *, rule: str | None, reason: str | None
) -> None:
    await void(ctx, order)
    for index, level in enumerate(levels):
        target = {k: v for k, v in level.items() if k in ("role", "user")}
        ctx.session.add(
            ApprovalStep(
                order_id=order.id,
                level=index,
                target=target,
                mode=level.get("mode", "any"),
                approved_by=[],
                status="open" if index == 0 else "waiting",
                created_at=ctx.now(),
            )
        )
    await ctx.session.flush()
    _announce(ctx, order, levels[0], 0, len(levels), rule=rule, reason=reason)


def _announce(ctx: Context, order: Order, level: dict[str, Any], index: int, count: int, **extra: Any) -> None:
    emit(
        ctx,
        "approval.requested",
        order_no=order.order_no,
        total=str(order.total),
        approvers={k: v for k, v in level.items() if k in ("role", "user")},
        level=index,
        levels=count,
        **extra,
    )


async def void(ctx: Context, order: Order) -> None:
    await ctx.session.execute(
        update(ApprovalStep)
        .where(ApprovalStep.order_id == order.id, ApprovalStep.status.in_(("waiting", "open")))
        .values(status="void")
        .execution_options(synchronize_session=False)
    )


def _may_act(actor: Actor, target: dict[str, Any]) -> bool:
    """The step's role or user; managers and admins too, since escalations reach them."""
    if actor.roles & {Role.ADMIN, Role.MANAGER}:
        return True
    if "user" in target:
        return actor.name == target["user"]
    return Role(target["role"]) in actor.roles


async def record(ctx: Context, order: Order) -> bool:
    """Record the actor's approval on the open step; True when the order is now fully approved."""
    steps = list(
        await ctx.session.scalars(
            select(ApprovalStep)
            .where(ApprovalStep.order_id == order.id, ApprovalStep.status.in_(("open", "waiting")))
            .order_by(ApprovalStep.level)
            .with_for_update()
        )
    )
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
    if step.mode == "all" and not await _everyone(ctx, step):
        emit(ctx, "approval.progress", order_no=order.order_no, level=step.level, approved_by=step.approved_by)
        return False
    step.status = "done"
    emit(ctx, "approval.level_done", order_no=order.order_no, level=step.level, actor=actor.name)
    if len(steps) == 1:
        return True
    following = steps[1]
    following.status = "open"
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
