"""Whether an order needs a person to review it before confirmation.

The workflow engine plugs in here through ``ReviewPolicy``; until rules are loaded, a single
threshold from the settings decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.context import Context
from core.orders.models import Order


class Decision(StrEnum):
    CONFIRM = "confirm"
    REVIEW = "review"
    AUTO_APPROVE = "auto_approve"


@dataclass(frozen=True)
class ReviewDecision:
    decision: Decision
    rule: str | None = None
    reason: str | None = None
    approvers: dict[str, str] | None = None  # {"role": "approver"} or {"user": "王芳"}; None: the approver role
    # Several steps in sequence, each {"role"|"user": ..., "mode": "any"|"all"}; overrides ``approvers``.
    levels: list[dict[str, str]] | None = None


class ReviewPolicy(Protocol):
    async def decide(self, ctx: Context, order: Order) -> ReviewDecision: ...


class ThresholdReview:
    """Orders above ``settings.approval_threshold`` go to an approver."""

    async def decide(self, ctx: Context, order: Order) -> ReviewDecision:
        threshold = ctx.settings.approval_threshold
        if order.total > threshold:
            return ReviewDecision(
                Decision.REVIEW,
                "approval_threshold",
                f"total {order.total} is above the approval threshold {threshold}",
            )
        return ReviewDecision(Decision.CONFIRM)
