"""Parcels the carrier has gone quiet about become exceptions (reason ``stalled``) before the customer asks.

A durable timer sweeps every hour (each run schedules the next, keyed by its time, like the
digest): a shipment not delivered and not already in exception whose latest scan (or, with none,
its creation) is older than ``OMS_TRACKING_STALL_DAYS`` gets a ``stalled`` scan through
``core.shipping.tracking``, so the forward-only rules, the history and ``ShipmentUpdated`` apply as
to any carrier's scan. The scan's key names the quiet moment, so one stall is flagged once however
often the sweep runs (or two processes run it); a parcel that moves and goes quiet again is a new
stall. The scan is dated at the deadline, so any later real scan moves the parcel on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.auth import Actor
from core.config import Settings
from core.context import Context
from core.orders.models import Order, Shipment
from core.orders.status import TERMINAL, ShipmentStatus
from core.services import Services
from core.shipping import tracking
from core.timers.service import schedule

KIND = "shipment.stalls"
EVERY = timedelta(hours=1)
BATCH = 200


async def ensure_scheduled(services: Services) -> None:
    """Make sure the next sweep has its timer (idempotent: the key is its time)."""
    async with services.unit_of_work(Actor.system("stalls")) as ctx:
        await _schedule_next(ctx)


async def _schedule_next(ctx: Context) -> None:
    now = ctx.now()
    due = now.replace(minute=0, second=0, microsecond=0) + EVERY
    await schedule(ctx, KIND, f"{KIND}:{due.isoformat()}", due)


def quiet_since(shipment: Shipment) -> datetime:
    return shipment.last_event_at or shipment.created_at


def fed(settings: Settings) -> bool:
    """Whether any carrier feed is set up: without one no scan ever arrives, and every parcel would
    look stalled until someone confirms its delivery by hand."""
    return bool(settings.kuaidi100_salt or settings.aftership_webhook_secret or settings.carrier_webhook_secret)


async def flag(ctx: Context) -> list[Shipment]:
    """Move every parcel quiet for longer than the setting to exception ``stalled``; returns them.
    Parcels of finished orders (completed, cancelled) are nobody's worry any more."""
    if not fed(ctx.settings):
        return []
    days = ctx.settings.tracking_stall_days
    deadline = ctx.now() - timedelta(days=days)
    quiet = func.coalesce(Shipment.last_event_at, Shipment.created_at)
    stmt = (
        select(Shipment)
        .join(Order, Order.id == Shipment.order_id)
        .where(
            Shipment.status.not_in([ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION]),
            Order.status.not_in([s.value for s in TERMINAL]),
            quiet < deadline,
        )
        .order_by(Shipment.id)
        .limit(BATCH)
    )
    flagged = []
    for candidate in list(await ctx.session.scalars(stmt)):
        await tracking.parcel_lock(ctx, candidate.carrier, candidate.tracking_no)
        shipment = (
            await ctx.session.scalars(
                select(Shipment)
                .where(Shipment.id == candidate.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).one()
        since = quiet_since(shipment)
        if shipment.status in (ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION) or since >= deadline:
            continue  # a scan came in meanwhile
        scan = tracking.Scan(
            occurred_at=since + timedelta(days=days),
            status=ShipmentStatus.EXCEPTION,
            reason="stalled",
            description=f"no tracking update since {since.isoformat(timespec='minutes')}",
            key=f"stalled:{since.isoformat()}",
        )
        new = await tracking.merge(ctx, shipment.carrier, shipment.tracking_no, [scan], "stall", shipment)
        if new:
            await tracking.advance(ctx, shipment, new)
            flagged.append(shipment)
    return flagged


async def sweep(ctx: Context, payload: dict[str, Any]) -> None:
    """The timer's handler: flag what is quiet, then schedule the next sweep."""
    await flag(ctx)
    await _schedule_next(ctx)
