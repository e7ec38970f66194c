"""A parcel's tracking history and the carrier pushes it came from.

``tracking_event`` is keyed by (carrier, tracking number, the provider's event key) rather than by
shipment alone, so a scan pushed before our own ``/ship`` committed is kept with no shipment and
adopted when the shipment appears. ``carrier_push`` keeps each push's raw bytes under the
provider's de-duplication key: a repeat is recognised before anything is worked again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base
from core.orders.status import ShipmentStatus


class TrackingEvent(Base):
    __tablename__ = "tracking_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(32))  # our code (or the aggregator's, if we know no such carrier)
    tracking_no: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))  # the provider's key for this scan (unique per parcel)
    occurred_at: Mapped[datetime]
    status: Mapped[ShipmentStatus] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))  # for an exception
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(16))  # kuaidi100, aftership, standard, manual
    received_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("carrier", "tracking_no", "key"),
        Index("ix_tracking_event_parcel_time", "carrier", "tracking_no", "occurred_at"),
    )


class CarrierPush(Base):
    __tablename__ = "carrier_push"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))  # AfterShip event_id, webhook-id, sha256 of Kuaidi100's param
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_no: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("provider", "key"),)
