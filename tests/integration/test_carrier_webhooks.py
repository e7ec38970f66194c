"""Carrier pushes end to end over real HTTP: signed the providers' way, acknowledged in their exact
words, merged into the parcel's history, moving the shipment and then the order; the customer hears
the three key moments once each and nothing for in-transit scans."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from bot import gateway
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.models import ChatMessage, Direction
from core.audit.models import DomainEvent
from core.auth import Actor
from core.config import Settings
from core.orders import fulfilment
from core.orders.fulfilment import ShipRequest
from core.orders.models import Shipment
from core.services import Services
from core.shipping.carriers import UnknownCarrier
from core.shipping.models import CarrierPush, TrackingEvent
from core.users.models import User
from integrations.carriers.route import mount as carriers
from integrations.web import events
from integrations.web.app import build_app
from tests.support import carriers as wire
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import seed
from tests.support.service_calls import as_user, detail, place
from tests.support.waiting import until

ACK = '{"result":true,"returnCode":"200","message":"成功"}'


@dataclass
class Tracked:
    client: TestClient
    services: Services

    async def post(self, provider: str, request: wire.Request) -> tuple[int, str]:
        headers, body = request
        async with self.client.post(f"/webhooks/carriers/{provider}", data=body, headers=headers) as response:
            return response.status, (await response.read()).decode()

    async def kuaidi100(self, number: str, scans, **kw) -> tuple[int, str]:
        return await self.post("kuaidi100", wire.kuaidi100_request(wire.kuaidi100_param(number, scans, **kw)))

    async def shipment(self, tracking_no: str) -> Shipment:
        async with self.services.reading() as session:
            return (await session.scalars(select(Shipment).where(Shipment.tracking_no == tracking_no))).one()

    async def history(self, tracking_no: str) -> list[TrackingEvent]:
        async with self.services.reading() as session:
            stmt = select(TrackingEvent).where(TrackingEvent.tracking_no == tracking_no)
            return list(await session.scalars(stmt.order_by(TrackingEvent.occurred_at)))

    async def count(self, table) -> int:  # type: ignore[no-untyped-def]
        async with self.services.reading() as session:
            return await session.scalar(select(func.count()).select_from(table)) or 0

    async def customer_told(self) -> list[str]:
        """What the customer (杭州茶社) was sent, once every event has been handled."""

        async def settled() -> bool:
            async with self.services.reading() as session:
                left = await session.scalar(
                    select(func.count(DomainEvent.id)).where(DomainEvent.processed_at.is_(None))
                )
                return left == 0

        await until(settled)
        async with self.services.reading() as session:
            stmt = (
                select(ChatMessage.text)
                .join(User, User.id == ChatMessage.user_id)
                .where(User.name == "杭州茶社", ChatMessage.direction == Direction.OUT)
                .order_by(ChatMessage.id)
            )
            noise = ("shipped with", "is confirmed")  # /ship's own message and the order's confirmation
            return [t for t in await session.scalars(stmt) if t and not any(n in t for n in noise)]


@pytest.fixture
async def tracked(tmp_path) -> AsyncIterator[Tracked]:
    services = await make_services(sqlite_settings(tmp_path / "oms.db", **wire.SETTINGS))
    await seed(services)
    app, _ = build_app(services, [carriers, events.mount])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Tracked(client, services)
    finally:
        await client.close()
        await services.close()


async def shipped(services: Services, carrier: str = "SF", tracking_no: str = "SF1001", **ship) -> str:
    no = await place(services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest(carrier, tracking_no, **ship)))
    return no


async def test_a_parcels_whole_life_by_kuaidi100_pushes_alone(tracked):
    no = await shipped(tracked.services, carrier="顺丰")  # the Chinese name is stored as our code
    assert (await tracked.shipment("SF1001")).carrier == "SF"
    for seen in range(1, len(wire.SF_LIFE) + 1):  # every push re-sends the whole history so far
        assert await tracked.kuaidi100("SF1001", wire.SF_LIFE[:seen]) == (200, ACK)
    shipment = await tracked.shipment("SF1001")
    assert shipment.status == "delivered" and shipment.last_event.startswith("【上海市】已签收")
    history = await tracked.history("SF1001")
    assert [e.status for e in history] == ["picked_up", "in_transit", "in_transit", "out_for_delivery", "delivered"]
    assert history[1].description == "【杭州市】快件已发车，下一站【上海转运中心】" and history[0].source == "kuaidi100"
    assert (await detail(tracked.services, no))["status"] == "delivered"
    told = await tracked.customer_told()
    assert len(told) == 3, told  # picked up, out for delivery, delivered; no word for the two in-transit scans
    assert "picked up" in told[0] and "已收取快件" in told[0]
    assert "out for delivery" in told[1] and "张师傅" in told[1]
    assert "was delivered" in told[2] and "签收人：本人" in told[2]


async def test_a_repeated_push_is_acknowledged_and_changes_nothing(tracked):
    await shipped(tracked.services)
    assert await tracked.kuaidi100("SF1001", wire.SF_LIFE[:2]) == (200, ACK)
    assert await tracked.kuaidi100("SF1001", wire.SF_LIFE[:2]) == (200, ACK)
    body = wire.aftership_body("SF1001", "InTransit", [], slug="sf-express", event_id="evt-1")
    for _ in range(2):
        assert (await tracked.post("aftership", wire.aftership_request(body)))[0] == 200
    assert await tracked.count(CarrierPush) == 2  # one Kuaidi100 push, one AfterShip event
    assert len(await tracked.history("SF1001")) == 3  # two Kuaidi100 scans, AfterShip's status once
    assert len(await tracked.customer_told()) == 1  # picked up, once


async def test_housekeeping_forgets_raw_pushes_after_a_month_and_keeps_the_history(tracked):
    from bot.scheduler import housekeeping

    await shipped(tracked.services)
    await tracked.kuaidi100("SF1001", wire.SF_LIFE[:2])
    assert await housekeeping(tracked.services) == 0
    async with tracked.services.unit_of_work(Actor.system("test")) as ctx:
        await ctx.session.execute(update(CarrierPush).values(received_at=ctx.now() - timedelta(days=31)))
    assert await housekeeping(tracked.services) == 1
    assert await tracked.count(CarrierPush) == 0 and len(await tracked.history("SF1001")) == 2


async def test_an_out_of_order_push_joins_the_history_and_never_moves_back(tracked):
    await shipped(tracked.services)
    await tracked.kuaidi100("SF1001", wire.SF_LIFE[:4])  # out for delivery
    late = wire.standard_request(
        {
            "carrier": "SF",
            "tracking_number": "SF1001",
            "status": "in_transit",
            "occurred_at": "2026-12-01T23:00:00+08:00",
            "location": "嘉兴",
            "description": "快件途经嘉兴中转场",
        }
    )
    assert (await tracked.post("standard", late))[0] == 200
    shipment = await tracked.shipment("SF1001")
    assert shipment.status == "out_for_delivery" and "张师傅" in shipment.last_event
    assert [e.location for e in await tracked.history("SF1001")].count("嘉兴") == 1


async def test_a_forged_push_is_refused_and_leaves_nothing(tracked):
    await shipped(tracked.services)
    param = wire.kuaidi100_param("SF1001", wire.SF_LIFE)
    assert (await tracked.post("kuaidi100", wire.kuaidi100_request(param, salt="guessed")))[0] == 401
    after = wire.aftership_body("SF1001", "Delivered", [], slug="sf-express")
    assert (await tracked.post("aftership", wire.aftership_request(after, secret="guessed")))[0] == 401
    scan = {"carrier": "SF", "tracking_number": "SF1001", "status": "delivered", "occurred_at": "2026-12-02T10:00:00Z"}
    std = "whsec_" + "Z3Vlc3NlZC1zZWNyZXQtb2YtMjQtYnl0ZXM="
    assert (await tracked.post("standard", wire.standard_request(scan, secret=std)))[0] == 401
    assert await tracked.count(CarrierPush) == await tracked.count(TrackingEvent) == 0
    assert (await tracked.shipment("SF1001")).status == "label_created"


async def test_a_stale_or_unreadable_push_is_refused_and_leaves_nothing(tracked):
    await shipped(tracked.services)
    scan = {"carrier": "SF", "tracking_number": "SF1001", "status": "delivered", "occurred_at": "2026-12-02T10:00:00Z"}
    replayed = wire.standard_request(scan, at=datetime.now(UTC) - timedelta(minutes=6))  # outside the 5 minutes
    assert (await tracked.post("standard", replayed))[0] == 401
    no_result = {"status": "polling", "message": "", "lastResult": None}  # signed, but no scans in it
    assert (await tracked.post("kuaidi100", wire.kuaidi100_request(no_result)))[0] == 400
    not_json = {"Content-Type": "application/x-www-form-urlencoded"}, b"param=%7Bnot+json&sign=00"
    assert (await tracked.post("kuaidi100", not_json))[0] in (400, 401)
    assert await tracked.count(CarrierPush) == await tracked.count(TrackingEvent) == 0
    assert (await tracked.shipment("SF1001")).status == "label_created"


async def test_a_push_before_the_shipment_is_kept_and_adopted_when_it_ships(tracked):
    assert await tracked.kuaidi100("SF1001", wire.SF_LIFE[:2]) == (200, ACK)
    [first, second] = await tracked.history("SF1001")
    assert first.shipment_id is None and second.shipment_id is None
    await shipped(tracked.services)
    shipment = await tracked.shipment("SF1001")
    assert shipment.status == "in_transit"
    assert {e.shipment_id for e in await tracked.history("SF1001")} == {shipment.id}
    told = await tracked.customer_told()
    assert len(told) == 1 and "picked up" in told[0]


async def test_a_failed_delivery_is_an_exception_the_next_attempt_leaves(tracked):
    no = await shipped(tracked.services, carrier="yto", tracking_no="YT2002")
    checkpoints = [
        ("2026-12-01T09:00:00+08:00", "【杭州】圆通速递 已揽收", "杭州", "InTransit"),
        ("2026-12-02T09:00:00+08:00", "【上海】快件派送中", "上海", "OutForDelivery"),
        ("2026-12-02T15:00:00+08:00", "【上海】客户不在，派送未成功", "上海", "AttemptFail"),
    ]
    failed = wire.aftership_body("YT2002", "AttemptFail", checkpoints)
    assert (await tracked.post("aftership", wire.aftership_request(failed)))[0] == 200
    shipment = await tracked.shipment("YT2002")
    assert (shipment.status, shipment.exception_reason) == ("exception", "failed_attempt")
    again = [*checkpoints, ("2026-12-03T10:00:00+08:00", "【上海】再次派送中", "上海", "OutForDelivery")]
    done = [*again, ("2026-12-03T11:30:00+08:00", "【上海】已签收", "上海", "Delivered")]
    for body in (
        wire.aftership_body("YT2002", "OutForDelivery", again),
        wire.aftership_body("YT2002", "Delivered", done),
    ):
        assert (await tracked.post("aftership", wire.aftership_request(body)))[0] == 200
    shipment = await tracked.shipment("YT2002")
    assert (shipment.status, shipment.exception_reason) == ("delivered", None)
    assert (await detail(tracked.services, no))["status"] == "delivered"
    told = await tracked.customer_told()
    assert len(told) == 3, told  # the second round out for delivery is not news
    async with tracked.services.reading() as session:
        names = list(
            await session.scalars(select(DomainEvent.payload).where(DomainEvent.name == "shipment.status_changed"))
        )
    assert [(p["to_status"], p.get("reason")) for p in names][2] == ("exception", "failed_attempt")


async def test_an_order_in_two_parcels_is_delivered_with_the_second(tracked):
    no = await place(tracked.services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(tracked.services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(
        tracked.services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", "P1", lines={"TEA-001": 1}))
    )
    await as_user(tracked.services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("shunfeng", "P2")))
    await tracked.kuaidi100("P1", wire.SF_LIFE)
    assert (await detail(tracked.services, no))["status"] == "shipped"
    told = await tracked.customer_told()
    assert "One parcel of your order" in told[-1] and "1 more to come" in told[-1]
    await tracked.kuaidi100("P2", wire.SF_LIFE)
    assert (await detail(tracked.services, no))["status"] == "delivered"
    told = await tracked.customer_told()
    assert "was delivered" in told[-1] and "P2" in told[-1]
    assert sum("delivered" in t for t in told) == 2  # one parcel, then the order; never the order twice


async def test_an_unknown_carrier_is_refused_with_suggestions(tracked):
    no = await place(tracked.services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(tracked.services, "张仓", lambda ctx, step=step: step(ctx, no))
    with pytest.raises(UnknownCarrier) as refused:
        await as_user(tracked.services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("shunfen", "X1")))
    assert refused.value.suggestions.startswith("SF")
    assert (await detail(tracked.services, no))["status"] == "packed"


async def test_a_push_for_an_unconfigured_provider_is_refused(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "oms.db"))
    app, _ = build_app(services, [carriers])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        tracked = Tracked(client, services)
        assert (await tracked.kuaidi100("SF1", wire.SF_LIFE))[0] == 401
        assert (await tracked.post("nobody", ({}, b"{}")))[0] == 404
        assert json.loads((await tracked.post("aftership", ({}, b"{}")))[1])["error"] == "signature not valid"
    finally:
        await client.close()
        await services.close()


async def test_where_is_my_order_shows_the_timeline_to_its_customer_only(tracked):
    no = await shipped(tracked.services)
    await tracked.kuaidi100("SF1001", wire.SF_LIFE[:4])
    customer = Inbound("console", user="杭州茶社", chat="杭州茶社")
    timeline = (await gateway.message(tracked.services, customer, f"/物流 {no}")).texts[0]
    lines = timeline.splitlines()
    assert "SF SF1001" in lines[1]
    # Newest first, in the business's time zone (the scans were 09:12 … 08:30 China time).
    assert lines[2].startswith("  12-02 08:30 上海市 【上海市】快件交给张师傅")
    assert lines[-1].startswith("  12-01 09:12 ")
    order = (await gateway.message(tracked.services, customer, f"/order {no}")).texts[0]
    assert "12-02 08:30 上海市 【上海市】快件交给张师傅" in order
    other = Inbound("console", user="广州茶馆", chat="广州茶馆")
    refused = (await gateway.message(tracked.services, other, f"/track {no}")).texts
    assert refused == [f"Order {no} does not exist."]  # another customer's order is not theirs to see


async def test_two_parcels_delivered_before_anyone_is_told_still_say_part_then_whole(tmp_path):
    """Whether a parcel was the last is decided when its scan is taken, not when the customer is
    told: events handled late (both parcels already delivered) still say "one parcel", then "the order"."""
    services = await make_services(sqlite_settings(tmp_path / "oms.db", **wire.SETTINGS))
    await seed(services)
    app, _ = build_app(services, [carriers])  # no event delivery while the pushes arrive
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        tracked = Tracked(client, services)
        no = await place(services, payment_terms="credit")
        for step in (fulfilment.start_picking, fulfilment.pack):
            await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
        first, rest = ShipRequest("SF", "P1", lines={"TEA-001": 1}), ShipRequest("SF", "P2")
        await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, first))
        await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, rest))
        await tracked.kuaidi100("P1", wire.SF_LIFE)
        await tracked.kuaidi100("P2", wire.SF_LIFE)
        assert (await detail(services, no))["status"] == "delivered"
        while await deliver_pending(services):
            pass
        delivered = [t for t in await tracked.customer_told() if "delivered" in t]
        assert len(delivered) == 2 and "One parcel" in delivered[0] and "P1" in delivered[0]
        assert delivered[1].startswith(f"Your order {no} was delivered (SF P2)")
    finally:
        await client.close()
        await services.close()


@pytest.mark.pg
async def test_pushes_racing_on_postgres_merge_once(pg_url):
    """Kuaidi100's retries and the next push arriving together (row locks, ON CONFLICT on PostgreSQL)."""
    services = await make_services(Settings(database_url=pg_url, **wire.SETTINGS))
    await seed(services)
    app, _ = build_app(services, [carriers, events.mount])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        tracked = Tracked(client, services)
        await tracked.kuaidi100("SF1001", wire.SF_LIFE[:1])  # before /ship: kept, adopted later
        await shipped(services)
        pushes = [wire.SF_LIFE[:seen] for seen in (2, 3, 3, 4, 4, 5, 5)]
        answers = await asyncio.gather(*(tracked.kuaidi100("SF1001", scans) for scans in pushes))
        assert answers == [(200, ACK)] * len(pushes)
        assert await tracked.count(CarrierPush) == 5  # one per distinct param
        assert [e.status for e in await tracked.history("SF1001")] == [
            "picked_up",
            "in_transit",
            "in_transit",
            "out_for_delivery",
            "delivered",
        ]
        assert (await tracked.shipment("SF1001")).status == "delivered"
        told = await tracked.customer_told()
        assert sum(("picked up" in t) for t in told) == 1 and sum(("was delivered" in t) for t in told) == 1
    finally:
        await client.close()
        await services.close()


@pytest.mark.pg
async def test_a_push_racing_its_own_ship_on_postgres_is_adopted(pg_url):
    """/ship and a push for its number at once: the scans end up on the shipment either way. (The
    losing interleaving, which ``tracking.parcel_lock`` closes, is narrow; this run does not force it.)"""
    services = await make_services(Settings(database_url=pg_url, **wire.SETTINGS))
    await seed(services)
    app, _ = build_app(services, [carriers])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        tracked = Tracked(client, services)
        for n in range(4):
            no = await place(services, payment_terms="credit")
            for step in (fulfilment.start_picking, fulfilment.pack):
                await as_user(services, "张仓", lambda ctx, step=step, no=no: step(ctx, no))
            request = ShipRequest("SF", f"R{n}")
            await asyncio.gather(
                as_user(services, "张仓", lambda ctx, no=no, request=request: fulfilment.ship(ctx, no, request)),
                tracked.kuaidi100(f"R{n}", wire.SF_LIFE[:2]),
            )
            assert (await tracked.shipment(f"R{n}")).status == "in_transit"
            assert {e.shipment_id is not None for e in await tracked.history(f"R{n}")} == {True}
    finally:
        await client.close()
        await services.close()


async def test_ship_in_chat_takes_a_chinese_name_and_refuses_a_typo_with_suggestions(tracked):
    no = await place(tracked.services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(tracked.services, "张仓", lambda ctx, step=step: step(ctx, no))
    warehouse = Inbound("console", user="张仓", chat="张仓")
    typo = (await gateway.message(tracked.services, warehouse, f"/ship {no} shunfen SF77")).texts
    assert len(typo) == 1 and typo[0].startswith("No carrier is called shunfen; did you mean SF")
    shipped_reply = (await gateway.message(tracked.services, warehouse, f"/发货 {no} 顺丰 SF77")).texts
    assert shipped_reply[0] == f"{no} shipped with SF SF77."
    assert (await tracked.shipment("SF77")).carrier == "SF"
