"""``oms`` starts without the workflow rules' code (their schema models, the CEL evaluator): it was
two thirds of every command's start-up. The policy imports it when a decision is first asked for."""

from __future__ import annotations

import subprocess
import sys

from bot.wiring import WorkflowRules


def test_the_command_line_starts_without_the_workflow_rules_code():
    probe = "import sys, integrations.cli.main; print(sorted(m for m in sys.modules if m.startswith('bot.workflows')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_workflow_rules_policy_has_what_a_review_policy_and_a_milestone_review_ask_for():
    policy = WorkflowRules()
    assert callable(policy.decide) and callable(policy.decide_milestone)
    assert policy._loaded() is policy._loaded()  # one policy, imported once
