"""Composition for everything that runs the chat layer: services with the workflow rules as the
review policy, and master-data loading that stores the rules in the same transaction."""

from __future__ import annotations

from pathlib import Path

from bot.workflows.review import WorkflowReview
from bot.workflows.store import save_rules
from core.config import Settings
from core.context import Context
from core.masterdata.loader import LoadReport, load_file
from core.services import Services


def services_for(settings: Settings) -> Services:
    services = Services.from_settings(settings)
    services.review_policy = WorkflowReview()
    return services


async def load_master_file(ctx: Context, path: Path | str, *, set_stock: bool = False) -> LoadReport:
    """Master data and workflow rules together: all of the file, or none of it.

    A file with a ``workflows:`` section replaces the stored rules; one without leaves them.
    Stock counts in the file open new stock rows only, unless ``set_stock`` overwrites them.
    """
    report = await load_file(ctx, path, set_stock=set_stock)
    if report.workflows:
        await save_rules(ctx, report.workflows)
    return report
