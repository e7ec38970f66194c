"""A parcel in exception, handled from a card: pushed to exception over real HTTP, the card goes to
service and the salesperson (not the customer), each of its three actions runs once however many
taps, a tap without the right is refused and changes nothing, the card closes when the parcel
moves on, ``/exceptions`` lists what waits; and a parcel nobody hears of becomes an exception once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import gateway
from bot.actions import ActionId
from bot.cards import render
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.i18n import Translator
from bot.models import Card, CardKind, ChatMessage
from bot.scheduler import tick
from core.audit.models import AuditRecord, DomainEvent
from core.orders import fulfilment
from core.orders.fulfilment import ShipRequest
from core.orders.models import Order, ReturnRequest, Shipment
from core.services import Services
from core.shipping import stalls
from core.shipping.models import TrackingEvent
from core.users.models import User
from integrations.carriers.route import mount as carriers
from integrations.web import events
from integrations.web.app import build_app
from tests.support import carriers as wire
from tests.support.clock import Clock
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import seed
from tests.support.service_calls import as_user, place

FAILED = [
    ("2026-12-01T09:00:00+08:00", "【杭州】圆通速递 已揽收", "杭州", "InTransit"),
    ("2026-12-02T09:00:00+08:00", "【上海】快件派送中", "上海", "OutForDelivery"),
    ("2026-12-02T15:00:00+08:00", "【上海】客户不在，派送未成功", "上海", "AttemptFail"),
]
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@dataclass
class Desk:
    client: TestClient
    services: Services
    clock: Clock

    async def push(self, tracking_no: str, tag: str, checkpoints) -> None:  # type: ignore[no-untyped-def]
        request = wire.aftership_request(wire.aftership_body(tracking_no, tag, checkpoints))
        headers, body = request
        async with self.client.post("/webhooks/carriers/aftership", data=body, headers=headers) as response:
            assert response.status == 200
        await deliver_pending(self.services)

    async def shipped(self, tracking_no: str) -> str:
        no = await place(self.services, payment_terms="credit")
        for step in (fulfilment.start_picking, fulfilment.pack):
            await as_user(self.services, "张仓", lambda ctx, step=step: step(ctx, no))
        request = ShipRequest("YTO", tracking_no)
        await as_user(self.services, "张仓", lambda ctx: fulfilment.ship(ctx, no, request))
        await deliver_pending(self.services)
        return no

    async def cards(self) -> list[Card]:
        async with self.services.reading() as session:
            return list(await session.scalars(select(Card).where(Card.kind == CardKind.PARCEL).order_by(Card.id)))

    async def receivers(self, card: Card) -> set[str]:
        async with self.services.reading() as session:
            stmt = select(User.name).join(ChatMessage, ChatMessage.user_id == User.id)
            return set(await session.scalars(stmt.where(ChatMessage.card_id == card.id)))

    async def tap(self, who: str, verb: str, card: Card) -> str:
        answer = await gateway.tap(
            self.services, Inbound("console", who, who), ActionId(verb, card.id, card.version).encode()
        )
        await deliver_pending(self.services)
        return " ".join(answer.texts)

    async def say(self, who: str, text: str) -> list[str]:
        answer = await gateway.message(self.services, Inbound("console", who, who), text)
        return answer.texts

    async def queue(self, who: str, text: str) -> tuple[list[str], list[int]]:
        """What a queue command said, and the cards it listed (their timeline rows), in order."""
        answer = await gateway.message(self.services, Inbound("console", who, who), text)
        async with self.services.reading() as session:
            rows = await session.scalars(select(ChatMessage).where(ChatMessage.id.in_(answer.reply_ids)))
            cards = [m.card_id for m in sorted(rows, key=lambda m: m.id) if m.card_id]
        return answer.texts, cards

    async def audit(self, action: str) -> list[AuditRecord]:
        async with self.services.reading() as session:
            return list(await session.scalars(select(AuditRecord).where(AuditRecord.action == action)))

    async def shipment(self, tracking_no: str) -> Shipment:
        async with self.services.reading() as session:
            return (await session.scalars(select(Shipment).where(Shipment.tracking_no == tracking_no))).one()


@pytest.fixture
async def desk(tmp_path) -> AsyncIterator[Desk]:
    services = await make_services(sqlite_settings(tmp_path / "oms.db", **wire.SETTINGS))
    clock = Clock(START)
    services.clock = clock
    await seed(services)
    app, _ = build_app(services, [carriers, events.mount])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Desk(client, services, clock)
    finally:
        await client.close()
        await services.close()


async def test_a_failed_delivery_comes_to_service_and_the_salesperson_as_a_card(desk):
    no = await desk.shipped("YT3001")
    await desk.push("YT3001", "AttemptFail", FAILED)
    [card] = await desk.cards()
    assert card.order_no == no and card.state == "open"
    assert await desk.receivers(card) == {"客服", "李雷"}  # service and the order's salesperson, not the customer
    view = render(card, Translator("zh-CN"), "Asia/Shanghai")
    assert dict(view.fields)["原因"] == "派送未成功" and dict(view.fields)["承运商"] == "圆通"
    assert dict(view.fields)["运单号"] == "YT3001"
    assert any("客户不在，派送未成功" in note for note in view.notes)
    assert len(view.buttons) == 3
    # The workflow trigger still fires beside the card (rules.notify stays registered).
    async with desk.services.reading() as session:
        names = list(
            await session.scalars(select(DomainEvent.payload).where(DomainEvent.name == "shipment.status_changed"))
        )
    assert [p["to_status"] for p in names][-1] == "exception"


async def test_contacted_the_customer_is_recorded_once_and_closes_the_card_for_everyone(desk):
    no = await desk.shipped("YT3001")
    await desk.push("YT3001", "AttemptFail", FAILED)
    [card] = await desk.cards()
    refused = await desk.tap("杭州茶社", "contacted", card)  # a customer holds no such right
    assert "may not" in refused
    assert (await desk.cards())[0].state == "open" and not await desk.audit("customer_contacted")
    assert "contacted the customer" in await desk.tap("客服", "contacted", card)
    [closed] = await desk.cards()
    assert closed.state == "closed" and closed.outcome["actor"] == "客服"
    [noted] = await desk.audit("customer_contacted")
    assert noted.order_id == (await desk.shipment("YT3001")).order_id and noted.actor == "客服"
    again = await desk.tap("李雷", "contacted", card)
    assert again.startswith("Already done: Customer contacted by 客服")
    assert len(await desk.audit("customer_contacted")) == 1
    assert no in render(closed, Translator("en"), "UTC").title


async def test_reship_makes_one_free_linked_replacement(desk):
    no = await desk.shipped("YT3001")
    await desk.push("YT3001", "AttemptFail", FAILED)
    [card] = await desk.cards()
    assert "may not" in await desk.tap("经理", "reship", card)  # a manager oversees, service acts
    said = await desk.tap("客服", "reship", card)
    assert "replacement order SO-" in said
    assert (await desk.tap("客服", "reship", card)).startswith("Already done: Reshipped as SO-")
    async with desk.services.reading() as session:
        original = (await session.scalars(select(Order).where(Order.order_no == no))).one()
        copies = list(await session.scalars(select(Order).where(Order.replaces_order_id == original.id)))
    [replacement] = copies
    assert replacement.order_no in said and replacement.total == 0


async def test_open_a_return_takes_back_the_parcels_lines_once(desk):
    no = await desk.shipped("YT3001")
    await desk.push("YT3001", "AttemptFail", FAILED)
    [card] = await desk.cards()
    said = await desk.tap("李雷", "open_return", card)
    assert "return RMA-" in said
    assert (await desk.tap("客服", "open_return", card)).startswith("Already done: Return RMA-")
    async with desk.services.reading() as session:
        [rma] = list(await session.scalars(select(ReturnRequest)))
    assert rma.rma_no in said and "failed_attempt" in rma.reason
    assert rma.order_id == (await desk.shipment("YT3001")).order_id and no in card.order_no


async def test_the_card_closes_when_the_parcel_moves_on(desk):
    await desk.shipped("YT3001")
    await desk.push("YT3001", "AttemptFail", FAILED)
    [card] = await desk.cards()
    again = [*FAILED, ("2026-12-03T10:00:00+08:00", "【上海】再次派送中", "上海", "OutForDelivery")]
    await desk.push("YT3001", "OutForDelivery", again)
    [closed] = await desk.cards()
    assert closed.state == "closed" and closed.outcome["status"] == "out_for_delivery"
    assert (await desk.tap("客服", "reship", card)).startswith("Already done: Closed: the parcel is moving again")
    assert not await desk.audit("reship")


async def test_the_exception_queue_lists_what_waits_oldest_first(desk):
    await desk.shipped("YT3001")
    await desk.shipped("YT3002")
    assert await desk.say("客服", "/exceptions") == ["No parcel has a delivery problem."]
    await desk.push("YT3001", "AttemptFail", FAILED)
    desk.clock.advance(minutes=5)
    await desk.push("YT3002", "AttemptFail", FAILED)
    first, second = await desk.cards()
    assert await desk.queue("经理", "/异常") == (["Delivery problems: 2"], [first.id, second.id])  # oldest first
    assert "may not" in " ".join(await desk.say("杭州茶社", "/exceptions"))
    await desk.tap("客服", "contacted", first)
    assert await desk.queue("客服", "/exceptions") == (["Delivery problems: 1"], [second.id])


async def test_a_quiet_parcel_becomes_stalled_once_and_the_report_shows_it(desk):
    no = await desk.shipped("YT3001")
    await stalls.ensure_scheduled(desk.services)
    await stalls.ensure_scheduled(desk.services)  # a second process adds nothing
    desk.clock.advance(days=2, hours=1)
    await tick(desk.services)
    assert (await desk.shipment("YT3001")).status == "label_created"  # two days quiet: not yet
    desk.clock.advance(days=1)
    assert await tick(desk.services) == 1
    await deliver_pending(desk.services)
    shipment = await desk.shipment("YT3001")
    assert (shipment.status, shipment.exception_reason) == ("exception", "stalled")
    for _ in range(3):  # later sweeps find it already flagged
        desk.clock.advance(hours=1)
        assert await tick(desk.services) == 1
    await deliver_pending(desk.services)
    async with desk.services.reading() as session:
        stalled = await session.scalar(select(func.count()).where(TrackingEvent.reason == "stalled"))
        moves = list(
            await session.scalars(select(DomainEvent.payload).where(DomainEvent.name == "shipment.status_changed"))
        )
    assert stalled == 1 and [m["reason"] for m in moves] == ["stalled"]
    [card] = await desk.cards()
    assert card.payload["reason"] == "stalled" and await desk.receivers(card) == {"客服", "李雷"}
    report = "\n".join(await desk.say("经理", "/report stalls"))
    assert "Parcels with no news from the carrier:" in report and f"{no} · YTO YT3001" in report
    # The carrier speaks again: the parcel moves on, the card closes, and it is no longer stalled.
    await desk.push("YT3001", "InTransit", [("2026-12-04T10:00:00+08:00", "【杭州】已揽收", "杭州", "InTransit")])
    assert (await desk.shipment("YT3001")).status == "picked_up"
    assert (await desk.cards())[0].state == "closed"
    assert "Parcels with no news" not in "\n".join(await desk.say("经理", "/report stalls"))


async def test_without_any_carrier_feed_no_parcel_is_called_stalled(tmp_path):
    """No feed set up means no scan ever comes: every parcel would look lost, so none is flagged."""
    services = await make_services(sqlite_settings(tmp_path / "oms.db"))
    clock = Clock(START)
    services.clock = clock
    try:
        await seed(services)
        no = await place(services, payment_terms="credit")
        for step in (fulfilment.start_picking, fulfilment.pack):
            await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
        await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("YTO", "YT9")))
        await stalls.ensure_scheduled(services)
        clock.advance(days=10)
        assert await tick(services) == 1  # the sweep ran
        async with services.reading() as session:
            assert (await session.scalars(select(Shipment.status))).one() == "label_created"
    finally:
        await services.close()
