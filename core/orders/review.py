"""Whether an order needs a person to review it before confirmation.

The workflow engine plugs in here through ``ReviewPolicy``; until rules are loaded, a single
threshold from the settings decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
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


# Why an order waits for review, stored as an English sentence (the REST API and the webhooks show
# it as it is); the chat shows it in the reader's language from its parts (``reason_parts``).
_RULE = "rule {rule}: {when}"
_ABOVE = "{what} {amount} is above the approval threshold {threshold}"
_READ = {
    "rule": re.compile(r"rule (?P<rule>\S+): (?P<when>.+)", re.DOTALL),
    "above": re.compile(
        r"(?P<what>total|milestone) (?P<amount>\S+) is above the approval threshold (?P<threshold>\S+)"
    ),
}


def rule_reason(rule: str, when: str | None) -> str:
    """A workflow rule matched: its name and its condition (none: it always applies)."""
    return _RULE.format(rule=rule, when=when or "always")


def above_threshold(what: str, amount: Decimal, threshold: Decimal) -> str:
    """An order's total (``what="total"``) or a milestone's amount over the approval threshold."""
    return _ABOVE.format(what=what, amount=amount, threshold=threshold)


def reason_parts(reason: str | None) -> tuple[str, dict[str, str]] | None:
    """(``"rule"`` or ``"above"``, the sentence's values) for a reason written by the two functions
    above; None for any other text (a reason stored before them, a channel's own words)."""
    for kind, pattern in _READ.items():
        if reason and (found := pattern.fullmatch(reason)):
            return kind, found.groupdict()
    return None


class ReviewPolicy(Protocol):
    async def decide(self, ctx: Context, order: Order) -> ReviewDecision: ...


class ThresholdReview:
    """Orders above ``settings.approval_threshold`` go to an approver."""

    async def decide(self, ctx: Context, order: Order) -> ReviewDecision:
        threshold = ctx.settings.approval_threshold
        if order.total > threshold:
            return ReviewDecision(
                Decision.REVIEW, "approval_threshold", above_threshold("total", order.total, threshold)
            )
        return ReviewDecision(Decision.CONFIRM)
