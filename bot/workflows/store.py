"""Keeping the workflow rules: replaced as a whole when the master-data file is loaded.

Readers (every order placed, every event with a trigger) get them from a process-local copy,
parsed once (``core.db.stamp``): a load in any process changes the stamp, and the next reader
parses the stored rules again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from bot.models import WorkflowRule
from bot.workflows.schema import Rule, Trigger, WorkflowError, parse_rules
from core.audit.record import audit
from core.auth import Permission
from core.context import Context
from core.db.stamp import Copies
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


@dataclass(frozen=True)
class _Stored:
    """The stored rules, parsed: by trigger in file order, and by name."""

    by_trigger: dict[str, tuple[Rule, ...]]
    by_name: dict[str, Rule]


_RULES = Copies()


async def _stored(ctx: Context) -> _Stored:
    async def load() -> _Stored:
        rows = await ctx.session.execute(
            select(WorkflowRule.name, WorkflowRule.trigger, WorkflowRule.definition).order_by(WorkflowRule.position)
        )
        by_trigger: dict[str, list[Rule]] = {}
        by_name: dict[str, Rule] = {}
        for name, trigger, definition in rows:
            rule = Rule.model_validate(definition)
            by_trigger.setdefault(trigger, []).append(rule)
            by_name[name] = rule
        return _Stored({t: tuple(rules) for t, rules in by_trigger.items()}, by_name)

    return await _RULES.get(ctx.session, (str(ctx.session.sync_session.get_bind().url), "rules"), load)


async def rules_for(ctx: Context, trigger: Trigger) -> list[Rule]:
    """The rules on ``trigger``, in file order (shared copies: read them, never change them)."""
    return list((await _stored(ctx)).by_trigger.get(trigger.value, ()))


async def rule_named(ctx: Context, name: str) -> Rule | None:
    return (await _stored(ctx)).by_name.get(name)
