"""Workflow rules as admins write them (the ``workflows:`` section of the master-data file).

Conditions are CEL (Common Expression Language): a safe, side-effect-free language with a
maintained Python implementation, so a rule can never run code. Every expression is compiled
when the file is loaded; an error names the rule and the field.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

import celpy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.i18n import N_
from core.auth import Role
from core.errors import DomainError


class WorkflowError(DomainError):
    """A workflow rule in the master-data file is wrong; said in English, like ``MasterDataError``."""

    code = "workflow"
    template = N_("{where}: {problem}")
    where: str
    problem: str


class Trigger(StrEnum):
    ORDER_RECEIVED = "order.received"
    ORDER_CONFIRMED = "order.confirmed"
    PAYMENT_OVERDUE = "payment.overdue"
    SHIPMENT_EXCEPTION = "shipment.exception"
    STOCK_LOW = "stock.low"
    MILESTONE_ACCEPTED = "milestone.accepted"  # a contract milestone's invoice: approve or let go


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``4h``, ``30m``, ``2d``, ``90s``."""
    match = _DURATION.match(str(text))
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h or 2d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


class Target(BaseModel):
    """Who: everyone with a role (any one of them, or all of them), or one named user."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Role | None = None
    user: str | None = None
    mode: Literal["any", "all"] = "any"

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.role is None) == (self.user is None):
            raise ValueError("name exactly one of role or user")
        return self


class Notify(BaseModel):
    """Tell a role, a user, or a group chat (``chat: dingtalk:cid123``, sent through the outbox)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Role | None = None
    user: str | None = None
    chat: str | None = Field(default=None, pattern=r"^(dingtalk|wecom|slack|telegram):\S+$")
    message: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Notify:
        if sum(x is not None for x in (self.role, self.user, self.chat)) != 1:
            raise ValueError("name exactly one of role, user or chat")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    on: Trigger
    when: str | None = None
    auto_approve: bool = False
    approve: list[Target] = []  # one step, or several in sequence
    notify: list[Notify] = []
    remind_after: str | None = None
    escalate_after: str | None = None
    escalate_to: Target | None = None

    @field_validator("when")
    @classmethod
    def _compiles(cls, expression: str | None) -> str | None:
        if expression is not None:
            compile_condition(expression)
        return expression

    @field_validator("remind_after", "escalate_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("notify", "approve", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        if self.auto_approve and self.approve:
            raise ValueError("a rule either approves automatically or asks for approval, not both")
        if (self.auto_approve or self.approve) and self.on not in (Trigger.ORDER_RECEIVED, Trigger.MILESTONE_ACCEPTED):
            raise ValueError("approval steps belong to order.received or milestone.accepted rules")
        if self.on == Trigger.MILESTONE_ACCEPTED and (self.notify or self.remind_after or self.escalate_after):
            raise ValueError("a milestone.accepted rule approves (or auto-approves) and does nothing else")
        if self.escalate_to and not self.escalate_after:
            raise ValueError("escalate_to needs escalate_after")
        if (self.remind_after or self.escalate_after) and not self.approve:
            raise ValueError("reminders and escalation follow an approval step")
        if (
            self.remind_after
            and self.escalate_after
            and parse_duration(self.remind_after) >= parse_duration(self.escalate_after)
        ):
            raise ValueError("remind_after must come before escalate_after")
        if not (self.auto_approve or self.approve or self.notify):
            raise ValueError("a rule needs at least one step: auto_approve, approve or notify")
        return self


_ENV = celpy.Environment()


def compile_condition(expression: str) -> celpy.Runner:
    try:
        return _ENV.program(_ENV.compile(expression))
    except celpy.CELParseError as error:
        first = str(error).splitlines()[0] if str(error) else "cannot parse"
        raise ValueError(f"not a valid condition: {first}") from None


def parse_rules(rows: list[dict[str, Any]]) -> list[Rule]:
    """Validate the rows; the first bad one raises ``WorkflowError`` naming rule and field."""
    rules, seen = [], set()
    for index, row in enumerate(rows):
        if isinstance(row, dict):  # a YAML 1.1 reader turns the key ``on`` into true
            row = {("on" if key is True else key): value for key, value in row.items()}
        name = row.get("name") if isinstance(row, dict) else None
        where = f"workflows row {index + 1}" + (f" ({name})" if name else "")
        try:
            rule = Rule.model_validate(row)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                message = (
                    "unknown field (known: name, on, when, auto_approve, approve, notify, remind_after, "
                    "escalate_after, escalate_to)"
                )
            reason = f"{field}: {message}" if field else message
            raise WorkflowError(where=where, problem=reason) from None
        if rule.name in seen:
            raise WorkflowError(where=where, problem="a rule with this name comes earlier")
        seen.add(rule.name)
        rules.append(rule)
    return rules
