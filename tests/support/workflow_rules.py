"""Workflow rules for tests: the seed's examples (SPEC §5), saved the way ``oms load`` saves them."""

from __future__ import annotations

import yaml

from bot.workflows.review import WorkflowReview
from bot.workflows.store import save_rules
from tests.support.master_data import SYSTEM


async def rules(services, text: str) -> None:
    services.review_policy = WorkflowReview()
    async with services.unit_of_work(SYSTEM) as ctx:
        await save_rules(ctx, yaml.safe_load(text))


SPEC_RULES = """
- name: trusted-skip
  on: order.received
  when: customer.tier == "vip" && order.total <= 20000
  auto_approve: true
- name: large-order-review
  on: order.received
  when: order.total > 5000
  approve: {role: finance}
  remind_after: 4h
  escalate_after: 8h
  escalate_to: {role: manager}
"""
