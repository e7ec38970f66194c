"""Composition for everything that runs the chat layer: services with the workflow rules as the
review policy, and master-data loading that stores the rules in the same transaction.

The workflow rules' code (their schema, the CEL evaluator, the contracts it reviews) is imported
when a decision is first asked for, not when ``oms`` starts: it was two thirds of every command's
start-up, ``oms order show`` and ``oms --help`` included, which need none of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import Settings
from core.context import Context
from core.services import Services

if TYPE_CHECKING:
    from core.masterdata.loader import LoadReport
    from core.orders.models import Order
    from core.orders.review import ReviewDecision


class WorkflowRules:
    """The review policy of ``bot.workflows.review.WorkflowReview``, imported on first use."""

    def __init__(self) -> None:
        self._policy: Any = None

    def _loaded(self) -> Any:
        if self._policy is None:
            from bot.workflows.review import WorkflowReview

            self._policy = WorkflowReview()
        return self._policy

    async def decide(self, ctx: Context, order: Order) -> ReviewDecision:
        return await self._loaded().decide(ctx, order)

    async def decide_milestone(self, ctx: Context, order: Order, milestone: Any) -> ReviewDecision:
        return await self._loaded().decide_milestone(ctx, order, milestone)


def services_for(settings: Settings) -> Services:
    services = Services.from_settings(settings)
    services.review_policy = WorkflowRules()
    return services


async def load_master_file(ctx: Context, path: Path | str, *, set_stock: bool = False) -> LoadReport:
    """Master data and workflow rules together: all of the file, or none of it.

    A file with a ``workflows:`` section replaces the stored rules; one without leaves them.
    Stock counts in the file open new stock rows only, unless ``set_stock`` overwrites them.
    """
    from bot.workflows.store import save_rules
    from core.masterdata.loader import load_file

    report = await load_file(ctx, path, set_stock=set_stock)
    if report.workflows:
        await save_rules(ctx, report.workflows)
    return report
