"""Carrier scans move a shipment forward, never back, and an order is delivered with its last parcel.

Every path that learns of a scan ends here: a Kuaidi100, AfterShip or Standard Webhooks push
(``take``), a person or test reporting progress (``core.orders.fulfilment.track``), and the
shipment itself appearing after its scans did (``adopt``). The rules hold whichever comes first
or twice:

* a scan is kept once per parcel under the provider's key (Kuaidi100 re-sends the whole history
  on every push; it merges into what we hold);
* only a scan at least as new as the latest we hold can move the status, and only forward along
  label_created → picked_up → in_transit → out_for_delivery → delivered; ``exception`` (with a
  reason) can be entered from any of these but delivered, and left by a later scan that is not
  behind the furthest point the parcel had reached;
* every move is a ``ShipmentUpdated`` event, ``first`` when the parcel reaches that status for the
  first time (so a customer hears of each key moment once);
* when every shipment of a fully shipped order is delivered, the order is delivered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update

from core.audit.record import audit
from core.context import Context
from core.db import conflicts
from core.events.catalogue import ShipmentUpdated
from core.events.store import record
from core.orders.history import change_status
from core.orders.lifecycle import can
from core.orders.models import Shipment
from core.orders.repository import order_by_id
from core.orders.status import OrderStatus, ShipmentStatus
from core.shipping.models import CarrierPush, TrackingEvent

KEEP_PUSHES = timedelta(days=30)
FORWARD = (
    ShipmentStatus.LABEL_CREATED,
    ShipmentStatus.PICKED_UP,
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.DELIVERED,
)
EXCEPTION_REASONS = ("failed_attempt", "refused", "returned", "customs", "lost", "stalled", "problem")


@dataclass(frozen=True)
class Scan:
    """One tracking event as a provider reports it (already mapped to our statuses)."""

    occurred_at: datetime
    status: ShipmentStatus
    description: str = ""
    location: str = ""
    reason: str | None = None  # set for an exception
    key: str = ""  # the provider's key; derived from the scan's content when empty

    def event_key(self) -> str:
        if self.key:
            return self.key[:200]
        content = f"{self.occurred_at.isoformat()}|{self.status}|{self.location}|{self.description}"
        return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class Push:
    """A verified carrier push: one parcel and its scans, stored under the provider's key."""

    provider: str  # kuaidi100, aftership, standard
    key: str
    carrier: str  # our carrier code (or the provider's, for a carrier we do not know)
    tracking_no: str
    scans: tuple[Scan, ...]
    body: bytes


async def take(ctx: Context, push: Push) -> str:
    """Store a push (a repeat of its key is ignored), merge its scans, move the shipment."""
    stored = await ctx.session.execute(
        conflicts.insert(ctx, CarrierPush)
        .values(
            provider=push.provider,
            key=push.key[:200],
            carrier=push.carrier[:32],
            tracking_no=push.tracking_no[:64],
            body=push.body,
            received_at=ctx.now(),
        )
        .on_conflict_do_nothing(index_elements=["provider", "key"])
    )
    if not stored.rowcount:
        return "duplicate"
    await parcel_lock(ctx, push.carrier, push.tracking_no)
    shipment = await _shipment(ctx, push.carrier, push.tracking_no)
    new = await merge(ctx, push.carrier, push.tracking_no, push.scans, push.provider, shipment)
    outcome = f"{len(new)} new scan(s)" + ("" if shipment else ", no shipment yet")
    if shipment is not None:
        outcome += f", {await advance(ctx, shipment, new)}"
    await ctx.session.execute(
        update(CarrierPush)
        .where(CarrierPush.provider == push.provider, CarrierPush.key == push.key[:200])
        .values(outcome=outcome[:200])
    )
    return outcome


async def parcel_lock(ctx: Context, carrier: str, tracking_no: str) -> None:
    """Serialise everything about one parcel until the transaction ends (PostgreSQL; SQLite has
    one writer anyway). A push and the ``/ship`` that makes its shipment may run at once: without
    this, the push sees no shipment and keeps its scans aside while ``/ship`` looks for such scans
    before the push commits, and nobody adopts them."""
    if ctx.session.bind.dialect.name == "postgresql":
        key = f"parcel:{carrier}:{tracking_no.strip()}"
        await ctx.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def _shipment(ctx: Context, carrier: str, tracking_no: str) -> Shipment | None:
    stmt = select(Shipment).where(Shipment.carrier == carrier, Shipment.tracking_no == tracking_no.strip())
    return (await ctx.session.scalars(stmt.with_for_update())).one_or_none()


async def merge(
    ctx: Context,
    carrier: str,
    tracking_no: str,
    scans: Sequence[Scan],
    source: str,
    shipment: Shipment | None,
) -> list[Scan]:
    """Add the scans we do not hold yet to the parcel's history; returns those, oldest first."""
    by_key = {scan.event_key(): scan for scan in scans}
    if not by_key:
        return []
    held = set(
        await ctx.session.scalars(
            select(TrackingEvent.key).where(
                TrackingEvent.carrier == carrier,
                TrackingEvent.tracking_no == tracking_no,
                TrackingEvent.key.in_(list(by_key)),
            )
        )
    )
    fresh = [scan for key, scan in by_key.items() if key not in held]
    if fresh:
        now = ctx.now()
        rows = [
            {
                "shipment_id": shipment.id if shipment else None,
                "carrier": carrier,
                "tracking_no": tracking_no,
                "key": scan.event_key(),
                "occurred_at": scan.occurred_at,
                "status": scan.status,
                "reason": scan.reason,
                "location": scan.location[:200] or None,
                "description": scan.description[:1000] or None,
                "source": source,
                "received_at": now,
            }
            for scan in fresh
        ]
        await ctx.session.execute(
            conflicts.insert(ctx, TrackingEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["carrier", "tracking_no", "key"])
        )
    return sorted(fresh, key=lambda s: (s.occurred_at, _rank(s.status)))


def _rank(status: ShipmentStatus) -> int:
    return FORWARD.index(status) if status in FORWARD else len(FORWARD)


def _furthest(shipment: Shipment) -> int:
    reached = [ShipmentStatus(s) for s in shipment.reached or [] if s in FORWARD]
    return max([_rank(s) for s in reached] + [_rank(ShipmentStatus.LABEL_CREATED)])


def moves(shipment: Shipment, scan: Scan) -> bool:
    """Whether ``scan`` moves the shipment (time aside): forward only, exception in and out."""
    before = ShipmentStatus(shipment.status)
    if before == ShipmentStatus.DELIVERED:
        return False
    if scan.status == ShipmentStatus.EXCEPTION:
        return before != ShipmentStatus.EXCEPTION or scan.reason != shipment.exception_reason
    if before == ShipmentStatus.EXCEPTION:
        return _rank(scan.status) >= _furthest(shipment)
    return _rank(scan.status) > _rank(before)


async def advance(ctx: Context, shipment: Shipment, scans: Sequence[Scan]) -> str:
    """Apply new scans (oldest first) to the shipment; the order follows its last parcel."""
    before = ShipmentStatus(shipment.status)
    for scan in scans:
        if shipment.last_event_at is not None and scan.occurred_at < shipment.last_event_at:
            continue  # late: it joined the history, it says nothing about now
        shipment.last_event_at = scan.occurred_at
        shipment.last_event = scan.description[:1000] or None
        shipment.last_location = scan.location[:200] or None
        if moves(shipment, scan):
            await _move(ctx, shipment, scan)
    after = ShipmentStatus(shipment.status)
    if after == ShipmentStatus.DELIVERED and before != after:
        await _deliver_order_if_complete(ctx, shipment)
    return f"{before} → {after}" if before != after else str(after)


async def _move(ctx: Context, shipment: Shipment, scan: Scan) -> None:
    before = ShipmentStatus(shipment.status)
    first = scan.status.value not in (shipment.reached or [])
    shipment.status, shipment.updated_at = scan.status, ctx.now()
    shipment.exception_reason = scan.reason if scan.status == ShipmentStatus.EXCEPTION else None
    if first:
        shipment.reached = [*(shipment.reached or []), scan.status.value]
    order = await order_by_id(ctx, shipment.order_id)
    left = 0
    if scan.status == ShipmentStatus.DELIVERED:
        others = await ctx.session.scalar(
            select(func.count())
            .select_from(Shipment)
            .where(
                Shipment.order_id == order.id,
                Shipment.id != shipment.id,
                Shipment.status != ShipmentStatus.DELIVERED,
            )
        )
        left = max(others or 0, 1 if order.status == OrderStatus.PARTIALLY_SHIPPED else 0)
    audit(
        ctx,
        entity="shipment",
        key=f"{shipment.carrier} {shipment.tracking_no}",
        order_id=order.id,
        action="track",
        from_state=before,
        to_state=scan.status,
        reason=scan.reason or scan.description[:200] or None,
    )
    record(
        ctx,
        ShipmentUpdated(
            order_no=order.order_no,
            carrier=shipment.carrier,
            tracking_no=shipment.tracking_no,
            from_status=before,
            to_status=scan.status,
            note=scan.description or None,
            reason=scan.reason,
            location=scan.location or None,
            first=first,
            parcels_left=left,
            at=scan.occurred_at,
        ),
    )


async def _deliver_order_if_complete(ctx: Context, shipment: Shipment) -> None:
    await ctx.session.flush()
    order = await order_by_id(ctx, shipment.order_id)
    statuses = set(await ctx.session.scalars(select(Shipment.status).where(Shipment.order_id == order.id)))
    if can(order, "deliver") and statuses == {ShipmentStatus.DELIVERED}:
        await change_status(ctx, order, "deliver", reason=f"{shipment.carrier} reports delivered")


async def adopt(ctx: Context, shipment: Shipment) -> int:
    """A shipment just made: take in the scans that were pushed for it before it existed."""
    early = list(
        await ctx.session.scalars(
            select(TrackingEvent).where(
                TrackingEvent.carrier == shipment.carrier,
                TrackingEvent.tracking_no == shipment.tracking_no,
                TrackingEvent.shipment_id.is_(None),
            )
        )
    )
    if not early:
        return 0
    for event in early:
        event.shipment_id = shipment.id
    scans = sorted(
        (
            Scan(
                occurred_at=e.occurred_at,
                status=ShipmentStatus(e.status),
                description=e.description or "",
                location=e.location or "",
                reason=e.reason,
                key=e.key,
            )
            for e in early
        ),
        key=lambda s: (s.occurred_at, _rank(s.status)),
    )
    await advance(ctx, shipment, scans)
    return len(early)


async def history(ctx: Context, shipment_ids: Sequence[int]) -> list[TrackingEvent]:
    """The scans of these shipments, oldest first."""
    if not shipment_ids:
        return []
    stmt = (
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id.in_(list(shipment_ids)))
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return list(await ctx.session.scalars(stmt))


async def prune(ctx: Context, keep: timedelta = KEEP_PUSHES) -> int:
    """Forget raw pushes received more than ``keep`` ago: their scans live on in the parcel's
    history, and no aggregator re-sends a push that old, so its key is no longer needed."""
    result = await ctx.session.execute(delete(CarrierPush).where(CarrierPush.received_at < ctx.now() - keep))
    return result.rowcount
