"""Which orders a listing or an export covers: one small filter the REST API's order listing, the
finance export and the chat's ``/export`` share, so "the same filters" means the same code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select

from core.customers.models import Customer
from core.documents.errors import BadSince, UnknownStatus
from core.orders.models import Order
from core.orders.status import OrderStatus

_RELATIVE = re.compile(r"^(\d{1,4})([dh])$")


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[OrderStatus, ...] = ()  # any of them; empty: every status
    customer: str | None = None  # customer code
    channel: str | None = None
    created_since: datetime | None = None
    updated_since: datetime | None = None

    @classmethod
    def build(
        cls,
        *,
        statuses: Iterable[str] = (),
        customer: str | None = None,
        channel: str | None = None,
        created_since: datetime | None = None,
        updated_since: datetime | None = None,
    ) -> OrderFilter:
        """From typed-in words: unknown statuses are refused (``UnknownStatus``)."""
        return cls(
            statuses=tuple(parse_status(s) for s in statuses),
            customer=customer.strip().upper() if customer else None,
            channel=channel.strip() if channel else None,
            created_since=created_since,
            updated_since=updated_since,
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """WHERE conditions on ``Order`` (the customer by code through a subquery: no join needed)."""
        where: list[ColumnElement[bool]] = []
        if self.statuses:
            where.append(Order.status.in_([str(s) for s in self.statuses]))
        if self.customer:
            where.append(Order.customer_id.in_(select(Customer.id).where(Customer.code == self.customer)))
        if self.channel:
            where.append(Order.channel == self.channel)
        if self.created_since is not None:
            where.append(Order.created_at >= self.created_since)
        if self.updated_since is not None:
            where.append(Order.updated_at >= self.updated_since)
        return where


def parse_status(text: str) -> OrderStatus:
    try:
        return OrderStatus(text.strip().lower())
    except ValueError:
        raise UnknownStatus(status=text) from None


def parse_since(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """``30d`` / ``12h`` back from ``now``, or a local date (its midnight) or an ISO time with offset."""
    words = text.strip()
    if match := _RELATIVE.match(words.lower()):
        amount, unit = int(match[1]), match[2]
        return now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        if len(words) == 10:
            return datetime.combine(date.fromisoformat(words), time.min, zone)
        moment = datetime.fromisoformat(words)
    except ValueError:
        raise BadSince(since=text) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
