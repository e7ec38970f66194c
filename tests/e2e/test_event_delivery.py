"""Committed events are delivered by the server's dispatcher, whoever recorded them and with no
console mounted: an order entered outside any request (as ``oms`` or a webhook would) reaches its
approver's chat; a handler that fails is rolled back alone."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.events.bus import EventBus
from bot.events.dispatcher import deliver_pending
from bot.events.registry import HANDLERS
from bot.models import Card, ChatMessage
from bot.outbox.models import OutboxMessage
from core.audit.models import DomainEvent
from core.events.catalogue import ApprovalRequested, OrderStatusChanged
from core.orders.placement import DraftLine, OrderDraft, place_order
from integrations.web import events
from integrations.web.app import build_app
from tests.support.platforms import bind, demo_services
from tests.support.service_calls import as_user
from tests.support.waiting import until


async def place_large_order(services) -> str:
    draft = OrderDraft(customer="C002", lines=(DraftLine("TEA-001", 45),))
    return (await as_user(services, "李雷", lambda ctx: place_order(ctx, draft))).order_no


async def rows(services, model, *where):
    async with services.sessions() as session:
        return list(await session.scalars(select(model).where(*where)))


async def test_with_only_the_dispatcher_mounted_an_event_from_outside_a_request_is_delivered(tmp_path):
    services = await demo_services(tmp_path, console_mode="off")
    await bind(services, "telegram", {"王芳": "22"})
    delivered: list[int] = []
    app, enabled = build_app(services, [events.mount])
    events.on_delivered(app, lambda: delivered.append(1))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert enabled == []  # no adapter, no console: only the background services
        no = await place_large_order(services)  # recorded by a plain unit of work, no chat request

        sends = await until(lambda: rows(services, OutboxMessage, OutboxMessage.recipient == "22"))
        assert sends[0].payload["card"]["title"] == f"Approval needed: {no}"
        assert await rows(services, ChatMessage, ChatMessage.card_id.is_not(None))  # on her timeline too
        assert await rows(services, DomainEvent, DomainEvent.processed_at.is_(None)) == []
        assert delivered  # the console's streams would have been woken
    finally:
        await client.close()


async def test_a_failing_handler_is_rolled_back_alone_and_the_event_is_not_delivered_twice(tmp_path, caplog):
    services = await demo_services(tmp_path)
    await bind(services, "telegram", {"王芳": "22"})

    async def broken(ctx, event):  # writes something, then fails: its write must not survive
        now = ctx.now()
        ctx.session.add(
            Card(kind="pick", order_id=1, order_no="SO-X", version=1, payload={}, created_at=now, updated_at=now)
        )
        await ctx.session.flush()
        raise RuntimeError("handler down")

    wiring = {kind: list(found) for kind, found in HANDLERS.items()}
    wiring[ApprovalRequested] = [broken, *wiring[ApprovalRequested]]
    wiring[OrderStatusChanged] = [*wiring[OrderStatusChanged], broken]
    no = await place_large_order(services)

    assert await deliver_pending(services, EventBus(wiring)) > 0
    assert await deliver_pending(services, EventBus(wiring)) == 0

    cards = await rows(services, Card)
    assert [(c.kind, c.order_no) for c in cards] == [("approval", no)]  # the broken handler's card is gone
    assert len(await rows(services, OutboxMessage, OutboxMessage.recipient == "22")) == 1
    assert "approval.requested: handler" in caplog.text and "broken failed" in caplog.text
