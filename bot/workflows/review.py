"""The workflow rules as the review policy: the first ``order.received`` rule whose condition
holds decides (auto-approve, or ask a role or a named user); no rule, no review.

Until any review rule is loaded, the settings' approval threshold decides, so a fresh install
still sends large orders to an approver.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from decimal import Decimal
from functools import lru_cache
from typing import Any

import celpy

from bot.workflows.schema import Rule, Trigger, compile_condition
from bot.workflows.store import rules_for
from core.context import Context
from core.contracts.models import Milestone
from core.contracts.service import facts as milestone_facts
from core.orders.models import Order
from core.orders.review import Decision, ReviewDecision, ThresholdReview, above_threshold, rule_reason
from core.production.planning import make_to_order_products
from core.rebates.status import current_rate

log = logging.getLogger(__name__)


@lru_cache(maxsize=256)
def _program(expression: str) -> celpy.Runner:
    return compile_condition(expression)


def facts(order: Order, made: Collection[str] = (), *, rebate_rate: Decimal = Decimal(0)) -> dict[str, Any]:
    """What a condition can see: ``order.*`` and ``customer.*`` (money as numbers).

    ``customer.rebate_rate`` is the percentage the customer's rebate period has reached so far
    (``core.rebates.status.current_rate``; 0 without an agreement).

    ``order.lines`` are ``{sku, qty, make_to_order}``, so a rule may ask
    ``order.lines.exists(line, line.make_to_order)``; ``made`` names the make-to-order SKUs
    (``order.make_to_order`` says whether there is one); ``order.kind == "contract"`` for a
    project contract."""
    customer = order.customer
    made = set(made)
    return {
        "order": {
            "order_no": order.order_no,
            "kind": str(order.kind or "standard"),  # "standard" or "contract"
            "project": order.project_name or "",
            "total": float(order.total),
            "subtotal": float(order.subtotal),
            "discount": float(-order.discount_total),
            "payment_terms": str(order.payment_terms),
            "payment_method": "offline" if str(order.payment_terms) in ("credit", "cod") else "online",
            "channel": order.channel,
            "line_count": len(order.lines),
            "skus": [line.sku for line in order.lines],
            "quantity": sum(line.qty for line in order.lines),
            "lines": [{"sku": line.sku, "qty": line.qty, "make_to_order": line.sku in made} for line in order.lines],
            "make_to_order": any(line.sku in made for line in order.lines),
        },
        "customer": {
            "code": customer.code,
            "tier": customer.tier,
            "credit_limit": float(customer.credit_limit),
            "outstanding_balance": float(customer.outstanding_balance),
            "group": customer.customer_group or "",
            "rebate_rate": float(rebate_rate),
        },
    }


def holds(rule: Rule, activation: dict[str, Any]) -> bool:
    """Whether the rule's condition is true; a condition that fails to evaluate (a field the order
    lacks, a type mismatch) counts as not holding and is logged, so one bad rule blocks nobody."""
    if rule.when is None:
        return True
    try:
        result = _program(rule.when).evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()})
    except celpy.CELEvalError as error:
        result = error
    if isinstance(result, celpy.celtypes.BoolType):
        return bool(result)
    log.warning("workflow rule %s: condition %r gave %r, treated as false", rule.name, rule.when, result)
    return False


class WorkflowReview:
    async def decide(self, ctx: Context, order: Order) -> ReviewDecision:
        rules = [r for r in await rules_for(ctx, Trigger.ORDER_RECEIVED) if r.auto_approve or r.approve]
        if not rules:
            return await ThresholdReview().decide(ctx, order)
        made = (await make_to_order_products(ctx, order)).values()
        activation = facts(order, made, rebate_rate=await current_rate(ctx, order.customer))
        for rule in rules:
            if not holds(rule, activation):
                continue
            if rule.auto_approve:
                return ReviewDecision(Decision.AUTO_APPROVE, rule.name, rule_reason(rule.name, rule.when))
            levels = [step.model_dump(mode="json", exclude_none=True) for step in rule.approve]
            return ReviewDecision(Decision.REVIEW, rule.name, rule_reason(rule.name, rule.when), levels=levels)
        return ReviewDecision(Decision.CONFIRM)

    async def decide_milestone(self, ctx: Context, order: Order, milestone: Milestone) -> ReviewDecision:
        """The first ``milestone.accepted`` rule whose condition holds (it sees ``milestone.*`` too)
        asks for approval of the invoice or lets it go; no rule: invoiced at once. Until any review
        rule is loaded at all, the approval threshold decides, as for orders."""
        every = [r for r in await rules_for(ctx, Trigger.ORDER_RECEIVED) if r.auto_approve or r.approve]
        rules = await rules_for(ctx, Trigger.MILESTONE_ACCEPTED)
        if not rules and not every:
            threshold = ctx.settings.approval_threshold
            if milestone.amount > threshold:
                reason = above_threshold("milestone", milestone.amount, threshold)
                return ReviewDecision(Decision.REVIEW, "approval_threshold", reason)
            return ReviewDecision(Decision.CONFIRM)
        seen = facts(order, rebate_rate=await current_rate(ctx, order.customer))
        activation = {**seen, "milestone": milestone_facts(milestone)}
        for rule in rules:
            if not holds(rule, activation):
                continue
            if rule.auto_approve:
                return ReviewDecision(Decision.AUTO_APPROVE, rule.name, rule_reason(rule.name, rule.when))
            levels = [step.model_dump(mode="json", exclude_none=True) for step in rule.approve]
            return ReviewDecision(Decision.REVIEW, rule.name, rule_reason(rule.name, rule.when), levels=levels)
        return ReviewDecision(Decision.CONFIRM)
