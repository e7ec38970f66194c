"""Keeping the workflow rules: replaced as a whole when the master-data file is loaded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from bot.models import WorkflowRule
from bot.workflows.schema import Rule, Trigger, WorkflowError, parse_rules
from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.users.models import User


async def save_rules(ctx: Context, rows: list[dict[str, Any]]) -> list[Rule]:
    """Validate and store the rules in file order; unchanged rules write nothing.

    A file without a ``workflows:`` section leaves the stored rules alone; an empty section
    (``workflows: []``) removes them.
    """
    ctx.actor.require(Permission.MASTER_DATA)
    rules = parse_rules(rows)
    await _check_users(ctx, rules)
    stored = {r.name: r for r in await ctx.session.scalars(select(WorkflowRule))}
    wanted = {rule.name: (position, rule) for position, rule in enumerate(rules)}
    for name in set(stored) - set(wanted):
        await ctx.session.execute(delete(WorkflowRule).where(WorkflowRule.name == name))
        audit(ctx, entity="workflow", key=name, action="remove")
    for name, (position, rule) in wanted.items():
        definition = rule.model_dump(mode="json", exclude_none=True)
        row = stored.get(name)
        if row is None:
            ctx.session.add(
                WorkflowRule(
                    name=name, position=position, trigger=rule.on.value, definition=definition, updated_at=ctx.now()
                )
            )
            audit(ctx, entity="workflow", key=name, action="load", reason="created")
        elif (row.position, row.definition) != (position, definition):
            row.position, row.trigger, row.definition, row.updated_at = position, rule.on.value, definition, ctx.now()
            audit(ctx, entity="workflow", key=name, action="load", reason="updated")
    await ctx.session.flush()
    return rules


async def _check_users(ctx: Context, rules: list[Rule]) -> None:
    named = {t.user for rule in rules for t in (*rule.approve, rule.escalate_to, *rule.notify) if t and t.user}
    if not named:
        return
    known = set(await ctx.session.scalars(select(User.name).where(User.name.in_(named))))
    for index, rule in enumerate(rules):
        for field, target in (*(("approve", step) for step in rule.approve), ("escalate_to", rule.escalate_to)):
            if target and target.user and target.user not in known:
                where = f"workflows row {index + 1} ({rule.name})"
                raise WorkflowError(where=where, problem=f"{field}.user: unknown user {target.user}")


async def rules_for(ctx: Context, trigger: Trigger) -> list[Rule]:
    rows = await ctx.session.scalars(
        select(WorkflowRule.definition).where(WorkflowRule.trigger == trigger.value).order_by(WorkflowRule.position)
    )
    return [Rule.model_validate(definition) for definition in rows]


async def rule_named(ctx: Context, name: str) -> Rule | None:
    definition = await ctx.session.scalar(select(WorkflowRule.definition).where(WorkflowRule.name == name))
    return Rule.model_validate(definition) if definition else None
