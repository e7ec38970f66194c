"""Where orders wait: time spent in each status, from the audit history (the seed's optimisation loop).

Every status change is an audit row, so a stay in a status is the time between the row that
entered it and the row that left it; an order still in a status counts up to now.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from core.audit.models import AuditRecord
from core.auth import Permission
from core.context import Context
from core.orders.models import Order, Shipment
from core.orders.status import TERMINAL, OrderStatus, ShipmentStatus
from core.shipping.models import TrackingEvent

# Statuses an order passes through quickly by itself; the report is about the ones people cause.
AUTOMATIC = {OrderStatus.RECEIVED, OrderStatus.CONFIRMED, OrderStatus.ALLOCATED}


@dataclass(frozen=True)
class StageFigures:
    status: str
    stays: int
    average: timedelta
    p90: timedelta


@dataclass(frozen=True)
class Waiting:
    order_no: str
    status: str
    waited: timedelta


@dataclass(frozen=True)
class StalledParcel:
    """A shipment the carrier went quiet about (``core.shipping.stalls``), still not moving."""

    order_no: str
    carrier: str
    tracking_no: str
    quiet_since: datetime


@dataclass(frozen=True)
class StallReport:
    since: datetime
    stages: list[StageFigures]
    longest: list[Waiting]
    parcels: list[StalledParcel] = field(default_factory=list)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[rank]


async def stall_report(ctx: Context, *, days: int = 7, top: int = 5) -> StallReport:
    ctx.actor.require(Permission.REPORT_VIEW)
    now = ctx.now()
    since = now - timedelta(days=days)
    # Sorted here, not by the database: ORDER BY order_id made SQLite walk the whole history in
    # that order instead of reading the last days through the created_at index (a million orders).
    found = await ctx.session.execute(
        select(AuditRecord.id, AuditRecord.order_id, AuditRecord.to_state, AuditRecord.created_at).where(
            AuditRecord.entity == "order", AuditRecord.to_state.is_not(None), AuditRecord.created_at >= since
        )
    )
    rows = sorted(found.all(), key=lambda r: (r[1] or 0, r[0]))
    stays: dict[str, list[float]] = defaultdict(list)
    previous: tuple[int, str, datetime] | None = None
    for _, order_id, state, at in rows:
        if previous and previous[0] == order_id:
            stays[previous[1]].append((at - previous[2]).total_seconds())
        previous = (order_id, state, at)
    open_orders = list(
        (
            await ctx.session.execute(
                select(Order.order_no, Order.status, Order.status_changed_at).where(
                    Order.status.not_in([s.value for s in TERMINAL])
                )
            )
        ).all()
    )
    for _, state, entered in open_orders:
        if entered >= since:
            stays[str(state)].append((now - entered).total_seconds())
    stages = [
        StageFigures(
            status, len(values), timedelta(seconds=sum(values) / len(values)), timedelta(seconds=percentile(values, 90))
        )
        for status, values in stays.items()
        if values and OrderStatus(status) not in AUTOMATIC | TERMINAL
    ]
    stages.sort(key=lambda s: s.p90, reverse=True)
    waiting = sorted(
        (Waiting(no, str(state), now - entered) for no, state, entered in open_orders),
        key=lambda w: w.waited,
        reverse=True,
    )[:top]
    return StallReport(since, stages, waiting, await stalled_parcels(ctx, top))


async def stalled_parcels(ctx: Context, top: int) -> list[StalledParcel]:
    """Parcels in exception because nothing was heard of them, the longest quiet first. The quiet
    moment is the last scan before the stall (the stall's own scan is dated at its deadline)."""
    rows = await ctx.session.execute(
        select(Order.order_no, Shipment.carrier, Shipment.tracking_no, Shipment.id, Shipment.created_at)
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.status == ShipmentStatus.EXCEPTION, Shipment.exception_reason == "stalled")
    )
    parcels = []
    for order_no, carrier, tracking_no, shipment_id, created_at in rows:
        last = await ctx.session.scalar(
            select(TrackingEvent.occurred_at)
            .where(TrackingEvent.shipment_id == shipment_id, TrackingEvent.reason.is_distinct_from("stalled"))
            .order_by(TrackingEvent.occurred_at.desc())
            .limit(1)
        )
        parcels.append(StalledParcel(order_no, carrier, tracking_no, last or created_at))
    return sorted(parcels, key=lambda p: p.quiet_since)[:top]
