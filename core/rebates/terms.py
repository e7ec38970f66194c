"""The arithmetic of a rebate agreement: periods and volume steps. Pure, no database.

A step's rate applies to the period's **whole** net sales once the volume reaches the step (≥ its
``above``), not only to the part above it: with 2 % from 100,000 and 3 % from 300,000, net sales of
320,000 earn 3 % of 320,000 = 9,600. The order that crosses a step therefore carries a catch-up
(the higher rate on the volume before it), and a return that falls back below a step takes it back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.rebates.errors import BadPeriod
from core.rebates.models import Period

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Step:
    above: Decimal  # net sales from which the rate applies (reached at exactly this amount)
    rate: Decimal  # percent


def steps_of(raw: Sequence[dict[str, Any]]) -> tuple[Step, ...]:
    return tuple(Step(Decimal(s["above"]), Decimal(s["rate"])) for s in raw)


def step_reached(steps: Sequence[Step], net: Decimal) -> tuple[int, Step] | None:
    """The highest step ``net`` reached (its index), or None below the first."""
    reached = None
    for index, step in enumerate(steps):
        if net >= step.above:
            reached = (index, step)
    return reached


def rate_for(steps: Sequence[Step], net: Decimal) -> Decimal:
    reached = step_reached(steps, net)
    return reached[1].rate if reached else ZERO


def rebate_on(steps: Sequence[Step], net: Decimal) -> Decimal:
    """The period's whole rebate on net sales of ``net`` (nothing on a negative volume)."""
    if net <= 0:
        return ZERO
    return (net * rate_for(steps, net) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def next_step(steps: Sequence[Step], net: Decimal) -> Step | None:
    return next((s for s in steps if net < s.above), None)


def period_of(period: Period | str, day: date) -> tuple[date, date]:
    """[start, end) of the month, quarter or year holding ``day``."""
    period = Period(period)
    if period == Period.MONTH:
        start = day.replace(day=1)
        end = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    elif period == Period.QUARTER:
        first = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first, 1)
        end = date(day.year + (first == 10), (first + 2) % 12 + 1, 1)
    else:
        start, end = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    return start, end


def period_label(period: Period | str, start: date) -> str:
    """``2026-11``, ``2026-Q4`` or ``2026``: how a person names the period (and types it)."""
    period = Period(period)
    if period == Period.MONTH:
        return f"{start.year}-{start.month:02d}"
    if period == Period.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def parse_period(period: Period | str, text: str) -> date:
    """The start of the period a person typed, in the agreement's kind of period."""
    period = Period(period)
    text = text.strip().upper()
    patterns = {
        Period.MONTH: r"(\d{4})-(\d{1,2})",
        Period.QUARTER: r"(\d{4})-Q([1-4])",
        Period.YEAR: r"(\d{4})()",
    }
    found = re.fullmatch(patterns[period], text)
    if found is None:
        raise BadPeriod(period=text)
    year = int(found.group(1))
    if period == Period.MONTH:
        month = int(found.group(2))
        if not 1 <= month <= 12:
            raise BadPeriod(period=text)
        return date(year, month, 1)
    if period == Period.QUARTER:
        return date(year, 3 * (int(found.group(2)) - 1) + 1, 1)
    return date(year, 1, 1)
