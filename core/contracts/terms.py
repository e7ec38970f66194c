"""Reading a milestone's terms as people type them: a share (``30%`` or ``84000``), a due date
(``2026-12-20``), hours (``8h``). Pure: each bad value is a refusal naming it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.contracts.errors import HoursInvalid, MilestoneDueDateInvalid, MilestoneShareInvalid

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Share:
    """Either a percentage of the contract value or a fixed amount (never both)."""

    percent: Decimal | None = None
    amount: Decimal | None = None

    def of(self, value: Decimal) -> Decimal:
        if self.percent is not None:
            return (value * self.percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
        assert self.amount is not None
        return self.amount


@dataclass(frozen=True)
class MilestoneTerms:
    name: str
    share: Share
    due_on: date


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_share(text: str) -> Share:
    raw = text.strip()
    if raw.endswith(("%", "％")):
        percent = _number(raw[:-1])
        if percent is None or not 0 < percent <= HUNDRED or percent != percent.quantize(CENT):
            raise MilestoneShareInvalid(share=raw)
        return Share(percent=percent)
    amount = _number(raw)
    if amount is None or amount <= 0 or amount != amount.quantize(CENT):
        raise MilestoneShareInvalid(share=raw)
    return Share(amount=amount)


def parse_due(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise MilestoneDueDateInvalid(text=text.strip()) from None


def parse_hours(text: str) -> Decimal:
    raw = text.strip().lower().removesuffix("h").removesuffix("小时")
    hours = _number(raw)
    if hours is None or hours <= 0 or hours > 10_000 or hours != hours.quantize(CENT):
        raise HoursInvalid(text=text.strip())
    return hours


def parse_value(text: str) -> Decimal | None:
    """A contract value as typed (``280000``, ``280,000.00``); None when it is not a number."""
    value = _number(text.strip())
    return value.quantize(CENT, rounding=ROUND_HALF_UP) if value is not None else None
