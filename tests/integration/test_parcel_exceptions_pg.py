"""On PostgreSQL, where transactions really run at once: two sweeps flag a quiet parcel once, and two
people tapping Reship on its card at the same moment make one replacement order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot import gateway
from bot.actions import ActionId
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.models import Card, CardKind
from core.config import Settings
from core.orders import fulfilment
from core.orders.fulfilment import ShipRequest
from core.orders.models import Order
from core.shipping import stalls
from core.shipping.models import TrackingEvent
from tests.support import carriers as wire
from tests.support.clock import Clock
from tests.support.databases import make_services
from tests.support.master_data import seed
from tests.support.service_calls import as_user, place


async def test_two_sweeps_flag_once_and_two_taps_reship_once(pg_url):
    services = await make_services(Settings(database_url=pg_url, **wire.SETTINGS))
    clock = Clock(datetime(2026, 12, 1, tzinfo=UTC))
    services.clock = clock
    try:
        await seed(services)
        no = await place(services, payment_terms="credit")
        for step in (fulfilment.start_picking, fulfilment.pack):
            await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
        await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("YTO", "YT7")))
        clock.advance(days=4)
        flagged = await asyncio.gather(*(as_user(services, None, stalls.flag) for _ in range(2)))
        assert sorted(len(f) for f in flagged) == [0, 1]
        await deliver_pending(services)
        async with services.reading() as session:
            assert await session.scalar(select(func.count()).where(TrackingEvent.reason == "stalled")) == 1
            [card] = list(await session.scalars(select(Card).where(Card.kind == CardKind.PARCEL)))
        action = ActionId("reship", card.id, card.version).encode()
        answers = await asyncio.gather(
            *(gateway.tap(services, Inbound("console", who, who), action) for who in ("客服", "李雷"))
        )
        said = sorted(" ".join(a.texts) for a in answers)
        assert said[0].startswith("Already done: Reshipped as SO-") and "replacement order SO-" in said[1]
        async with services.reading() as session:
            assert await session.scalar(select(func.count()).where(Order.replaces_order_id.is_not(None))) == 1
    finally:
        await services.close()
