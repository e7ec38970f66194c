"""Report periods: whole local days in the business's time zone, as a half-open UTC-comparable range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import N_, InvalidInput

# The periods a report can be asked for by name; each is that many local days ending today.
NAMED_DAYS = {"today": 1, "7d": 7, "30d": 30}
MAX_RANGE_DAYS = 3660
# A date range as typed: "2026-11-01..2026-11-30" (also with "~" or "至" between the dates).
RANGE = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})\s*(?:\.\.|~|至)\s*(\d{4}-\d{1,2}-\d{1,2})")


class UnknownPeriod(InvalidInput):
    code = "unknown_report_period"
    period: str
    template = N_("Unknown report period {period}: use today, 7d, 30d or a date range.")


class BadDateRange(InvalidInput):
    code = "bad_report_date_range"
    first: str
    last: str
    template = N_("The report's date range {first} to {last} is empty or longer than ten years.")


@dataclass(frozen=True)
class Period:
    """Orders created at ``start`` <= created_at < ``end``; ``first``..``last`` are the local dates."""

    name: str  # today | 7d | 30d | range
    first: date
    last: date
    start: datetime
    end: datetime
    timezone: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def date_range(first: date, last: date, timezone: str, name: str = "range") -> Period:
    """The local days ``first`` to ``last``, both included."""
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise BadDateRange(first=first.isoformat(), last=last.isoformat())
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    return Period(name, first, last, start, end, timezone)


def named(name: str, now: datetime, timezone: str) -> Period:
    """``today``, ``7d`` or ``30d``: that many local days, today included."""
    days = NAMED_DAYS.get(name)
    if days is None:
        raise UnknownPeriod(period=name)
    today = now.astimezone(ZoneInfo(timezone)).date()
    return date_range(today - timedelta(days=days - 1), today, timezone, name)


def looks_like_range(text: str) -> bool:
    """Whether ``text`` is meant as a date range (it may still name no real date)."""
    return RANGE.fullmatch(text.strip()) is not None


def parse(text: str, now: datetime, timezone: str) -> Period:
    """``today``, ``7d``, ``30d`` or ``FIRST..LAST`` (local dates, both included).

    Raises UnknownPeriod for anything else (a date that does not exist included) and BadDateRange
    for a range that is reversed or longer than ten years."""
    wanted = text.strip()
    if wanted.lower() in NAMED_DAYS:
        return named(wanted.lower(), now, timezone)
    found = RANGE.fullmatch(wanted)
    if found is None:
        raise UnknownPeriod(period=text)
    try:
        first, last = (date(*(int(part) for part in found.group(i).split("-"))) for i in (1, 2))
    except ValueError:
        raise UnknownPeriod(period=text) from None
    return date_range(first, last, timezone)
