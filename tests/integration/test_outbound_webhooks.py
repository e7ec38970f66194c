"""Outbound webhooks against a real local receiver that checks every POST with the official
``standardwebhooks`` package: each event reaches its endpoints once accepted, with the same
``webhook-id`` on every retry, in order per order (a failing first event holds the second); 410
disables the endpoint; a row that used its whole retry schedule ends dead with the admins told in
chat; a replay goes again with the same id; an event nobody subscribed to is not sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.events.dispatcher import deliver_pending
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import OutboxMessage, OutboxStatus
from bot.reactions.webhooks import health, replay
from core.audit.models import DomainEvent
from core.auth import Actor
from core.config import Settings
from core.context import Context
from core.services import Services
from core.webhooks.models import WebhookEndpoint
from core.webhooks.service import add_endpoint, remove_endpoint
from integrations.webhooks.client import WebhookClient
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.databases import make_services
from tests.support.master_data import seed
from tests.support.platforms import bind, demo_services
from tests.support.service_calls import place

SYSTEM = Actor.system("test")
FAST = (0.0, 0.0, 0.0)  # three retries at once: four attempts, then dead


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    fake = await WebhookReceiver().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def services(tmp_path) -> AsyncIterator[Services]:
    svc = await demo_services(tmp_path)
    await deliver_pending(svc)  # the demo data's own events (a low-stock alert) before any endpoint
    yield svc
    await svc.close()


async def endpoint(services: Services, receiver: WebhookReceiver, events: list[str], name: str = "erp") -> str:
    async with services.unit_of_work(SYSTEM) as ctx:
        added = await add_endpoint(ctx, name, receiver.url, events)
        receiver.secret = added.secret
    return added.secret


async def send_all(services: Services, schedule: tuple[float, ...] = FAST) -> None:
    client = WebhookClient(services, retry_schedule=schedule)
    try:
        await Dispatcher(services, [client]).run_until_idle(poll=0.01, timeout=30)
    finally:
        await client.close()


async def event_ids(services: Services, *names: str) -> list[str]:
    async with services.reading() as session:
        ids = await session.scalars(select(DomainEvent.id).where(DomainEvent.name.in_(names)).order_by(DomainEvent.id))
        return [f"evt_{i}" for i in ids]


async def webhook_rows(services: Services) -> list[OutboxMessage]:
    async with services.reading() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.platform == "webhook").order_by(OutboxMessage.id)
        return list(await session.scalars(stmt))


async def chat_texts(services: Services, platform: str) -> list[str]:
    async with services.reading() as session:
        stmt = select(OutboxMessage.payload).where(OutboxMessage.platform == platform).order_by(OutboxMessage.id)
        return [p.get("text") or "" for p in await session.scalars(stmt)]


async def the_endpoint(services: Services, name: str = "erp") -> WebhookEndpoint:
    async with services.reading() as session:
        return (await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.name == name))).one()


async def test_a_receiver_failing_twice_gets_each_event_once_signed_and_under_the_same_id(services, receiver):
    await endpoint(services, receiver, ["order.received", "order.status_changed"])
    receiver.answers = [500, 500]
    no = await place(services)
    await deliver_pending(services)
    await send_all(services)

    expected = await event_ids(services, "order.received", "order.status_changed")
    assert len(expected) == 4
    assert list(receiver.accepted) == expected  # each once, in the order they happened
    assert receiver.duplicates == 0
    assert all(r.verified for r in receiver.requests)  # standardwebhooks.Webhook(secret).verify
    assert [r.webhook_id for r in receiver.requests[:3]] == [expected[0]] * 3  # two failures, then taken
    first = receiver.accepted[expected[0]]
    assert first["type"] == "order.received" and first["version"] == 1
    assert first["data"] == {"order_no": no, "customer": "C001", "channel": "direct"}
    assert first["timestamp"].endswith("+00:00")
    rows = await webhook_rows(services)
    assert [(r.status, r.recipient) for r in rows] == [(OutboxStatus.SENT, f"erp:{no}")] * 4
    assert rows[0].attempts == 3
    assert "secret" not in str(rows[0].payload) and "whsec_" not in str(rows[0].payload)
    health = await the_endpoint(services)
    assert health.last_success_at is not None and health.last_error == "HTTP 500"


async def test_one_order_waits_for_its_failing_first_event_while_another_order_goes_on(services, receiver):
    await endpoint(services, receiver, ["order.received"])
    first = await place(services)
    second = await place(services)
    await deliver_pending(services)
    # 503 with no Retry-After: a failure like any other, retried along the schedule
    receiver.decide = lambda envelope: 503 if envelope["data"]["order_no"] == first else None

    client = WebhookClient(services, retry_schedule=(3600.0,))  # the retry is an hour away
    dispatcher = Dispatcher(services, [client])
    await dispatcher.run_once()  # both orders' heads go; the first order's fails
    await dispatcher.run_once()  # nothing more is due
    await client.close()

    [failed, taken] = sorted(receiver.requests, key=lambda r: r.status, reverse=True)
    assert (failed.envelope["data"]["order_no"], failed.status) == (first, 503)
    assert (taken.envelope["data"]["order_no"], taken.status) == (second, 204)
    rows = {r.recipient: r for r in await webhook_rows(services)}
    assert rows[f"erp:{first}"].status == OutboxStatus.PENDING and rows[f"erp:{first}"].attempts == 1


async def test_events_of_one_order_arrive_in_order_even_when_the_first_is_retried(services, receiver):
    await endpoint(services, receiver, ["*"])
    no = await place(services)
    await deliver_pending(services)
    receiver.answers = [500, (429, {"Retry-After": "0"}), 502]
    await send_all(services)

    ids = await event_ids(services, "order.received", "order.status_changed")
    seen: list[str] = []
    for r in receiver.requests:  # every attempt, failures too
        if r.webhook_id not in seen:
            seen.append(r.webhook_id)
    assert seen == ids  # the second is never tried before the first is taken
    assert list(receiver.accepted) == ids
    assert {e["data"]["order_no"] for e in receiver.accepted.values()} == {no}
    [head, *_] = await webhook_rows(services)
    assert head.attempts == 3  # the 429 with Retry-After was obeyed, not counted


async def test_gone_disables_the_endpoint_and_tells_the_admins_once(services, receiver):
    await bind(services, "telegram", {"管理员": "900"})
    await endpoint(services, receiver, ["order.received", "order.status_changed"])
    receiver.answers = [410]
    await place(services)
    await deliver_pending(services)
    await send_all(services)

    assert len(receiver.requests) == 1  # nothing more was sent after the 410
    statuses = [r.status for r in await webhook_rows(services)]
    assert statuses == [OutboxStatus.DEAD] * 4
    gone = await the_endpoint(services)
    assert gone.disabled_at is not None and "410" in (gone.disabled_reason or "")
    alerts = [t for t in await chat_texts(services, "telegram") if "Webhook erp" in t]
    assert len(alerts) == 1 and "410" in alerts[0]

    await place(services)
    await deliver_pending(services)
    assert len(await webhook_rows(services)) == 4  # a disabled endpoint is not queued for


async def test_dead_after_the_whole_schedule_alerts_the_admins_in_chat_in_their_language(services, receiver):
    await bind(services, "dingtalk", {"管理员": "admin-ding"})  # DingTalk reads Chinese by default
    await bind(services, "telegram", {"管理员": "900"})
    await endpoint(services, receiver, ["order.received"])
    receiver.answers = [500] * 4
    await place(services)
    await deliver_pending(services)
    await send_all(services, schedule=FAST)

    [evt] = await event_ids(services, "order.received")
    assert [r.webhook_id for r in receiver.requests] == [evt] * 4
    [row] = await webhook_rows(services)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.DEAD, 4, "webhook erp: HTTP 500")
    [en] = [t for t in await chat_texts(services, "telegram") if "Webhook erp" in t]
    assert f"gave up on event {evt} (order.received) after 4 attempts" in en
    assert f"oms webhook replay {evt} --endpoint erp" in en
    [zh] = [t for t in await chat_texts(services, "dingtalk") if "Webhook erp" in t]
    assert f"尝试 4 次后放弃了事件 {evt}" in zh and "HTTP 500" in zh


async def test_a_replay_goes_again_under_the_same_id(services, receiver):
    await endpoint(services, receiver, ["order.received"])
    await place(services)
    await deliver_pending(services)
    await send_all(services)
    [evt] = await event_ids(services, "order.received")
    number = int(evt.removeprefix("evt_"))

    async with services.unit_of_work(SYSTEM) as ctx:
        assert await replay(ctx, number) == ["erp"]
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await replay(ctx, number, "erp") == ["erp"]
    await send_all(services)

    assert [r.webhook_id for r in receiver.requests] == [evt] * 3
    assert receiver.requests[0].body == receiver.requests[2].body  # the same envelope, byte for byte
    assert receiver.duplicates == 2  # the receiver sees the repeats as repeats
    assert len({r.dedupe_key for r in await webhook_rows(services)}) == 3


async def test_a_replay_before_the_event_was_delivered_does_not_stop_its_delivery(services, receiver):
    await endpoint(services, receiver, ["order.received"])
    await place(services)  # recorded, not yet delivered
    [evt] = await event_ids(services, "order.received")
    async with services.unit_of_work(SYSTEM) as ctx:
        await replay(ctx, int(evt.removeprefix("evt_")))
    await deliver_pending(services)  # the delivery's own row beside the replay's
    await send_all(services)
    assert [r.webhook_id for r in receiver.requests] == [evt, evt]


async def test_only_subscribed_events_are_sent_and_a_removed_endpoint_gets_nothing(services, receiver, tmp_path):
    await endpoint(services, receiver, ["shipment.status_changed"])
    other = await WebhookReceiver().start()
    try:
        await endpoint(services, other, ["order.received"], name="wms")
        other.secret = (await the_endpoint(services, "wms")).secret
        await place(services)
        await deliver_pending(services)
        async with services.unit_of_work(SYSTEM) as ctx:
            await remove_endpoint(ctx, "wms")
        await send_all(services)
        assert receiver.requests == [] and other.requests == []
        [row] = await webhook_rows(services)
        assert row.status == OutboxStatus.DEAD and "removed" in (row.last_error or "")
    finally:
        await other.stop()


async def test_a_redirect_is_a_failure_and_is_not_followed(services, receiver):
    await endpoint(services, receiver, ["order.received"])
    receiver.answers = [302]
    await place(services)
    await deliver_pending(services)
    await send_all(services)
    assert [r.status for r in receiver.requests] == [302, 204]  # the Location was never visited
    assert (await the_endpoint(services)).last_error == "HTTP 302 (redirects are not followed)"


async def test_a_kill_between_change_and_delivery_leaves_the_event_or_its_row(services, receiver):
    """The event is fanned out in the transaction that delivers it: if that rolls back, the event
    is still undelivered and the next delivery writes the rows; nothing is half done."""
    await endpoint(services, receiver, ["order.received"])
    await place(services)

    class Crash(Exception):
        pass

    async def crash(ctx: Any) -> int:
        from bot.events.dispatcher import _deliver_batch
        from bot.events.registry import BUS

        await _deliver_batch(ctx, BUS)
        raise Crash  # as a kill -9 before the commit

    with pytest.raises(Crash):
        await services.run(Actor.system("notifier"), crash)
    assert await webhook_rows(services) == []
    await deliver_pending(services)
    await send_all(services)
    assert list(receiver.accepted) == await event_ids(services, "order.received")


@pytest.mark.pg
async def test_on_postgresql_two_dispatchers_deliver_each_event_once_and_health_counts_it(pg_url, receiver):

    pg = await make_services(Settings(database_url=pg_url))
    try:
        await seed(pg)
        await endpoint(pg, receiver, ["*"])
        receiver.answers = [500, 500]
        no = await place(pg, payment_terms="credit")
        await deliver_pending(pg)
        clients = [WebhookClient(pg, retry_schedule=FAST) for _ in range(2)]
        try:  # two senders at once, as two server processes: SKIP LOCKED keeps them apart
            dispatchers = [Dispatcher(pg, [c]) for c in clients]
            await asyncio.gather(*(d.run_until_idle(poll=0.01, timeout=30) for d in dispatchers))
        finally:
            for c in clients:
                await c.close()
        rows = await webhook_rows(pg)
        assert rows and all(r.status == OutboxStatus.SENT and r.recipient == f"erp:{no}" for r in rows)
        assert len(receiver.accepted) == len(rows) and receiver.duplicates == 0
        async with pg.reading() as session:
            [row] = await health(Context(session=session, actor=SYSTEM, settings=pg.settings))
        assert (row.name, row.pending, row.dead, row.sent) == ("erp", 0, 0, len(rows))
    finally:
        await pg.close()
