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


def test_the_workflow_rules_policy_imports_the_rules_when_first_asked_and_once():
    from bot.workflows.review import WorkflowReview

    policy = WorkflowRules()
    assert policy._policy is None  # nothing imported or built by making it
    assert isinstance(policy._loaded(), WorkflowReview) and policy._loaded() is policy._loaded()
