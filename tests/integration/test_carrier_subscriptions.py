"""Shipping a parcel subscribes it with the tracking aggregator, through the outbox: once, with the
exact ``param`` Kuaidi100 reads (callback URL and salt included) or the tracking AfterShip reads;
a failed call is retried until it is taken; "already subscribed" counts as done; a refusal no retry
can change ends dead with its reason and the admins told; without a key nothing is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot import gateway
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.models import ChatMessage
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import OutboxMessage, OutboxStatus
from core.orders import fulfilment
from core.orders.fulfilment import ShipRequest
from core.orders.models import Shipment
from core.services import Services
from core.users.models import User
from integrations.carriers import subscribe
from integrations.carriers.route import mount as carriers
from integrations.web import events, outbox
from integrations.web.app import build_app
from tests.fakes.carriers import AFTERSHIP_KEY, KUAIDI100_KEY, FakeAfterShip, FakeKuaidi100
from tests.support import carriers as wire
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import seed
from tests.support.service_calls import as_user, place
from tests.support.waiting import until

PUBLIC_URL = "https://oms.example.com"


@pytest.fixture
async def kuaidi100() -> AsyncIterator[FakeKuaidi100]:
    fake = await FakeKuaidi100().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def aftership() -> AsyncIterator[FakeAfterShip]:
    fake = await FakeAfterShip().start()
    yield fake
    await fake.stop()


async def services_with(tmp_path, **settings: Any) -> Services:
    services = await make_services(
        sqlite_settings(tmp_path / "oms.db", public_url=PUBLIC_URL, **wire.SETTINGS, **settings)
    )
    await seed(services)
    return services


async def packed(services: Services) -> str:
    no = await place(services, payment_terms="credit")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    return no


async def ship(services: Services, carrier: str = "SF", tracking_no: str = "SF1001") -> str:
    no = await packed(services)
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest(carrier, tracking_no)))
    await deliver_pending(services)  # OrderShipped queues the subscription
    return no


async def send_all(services: Services, max_attempts: int = 8) -> None:
    clients = subscribe.clients(services.settings)
    try:
        await Dispatcher(services, clients, max_attempts=max_attempts).run_until_idle(timeout=30)
    finally:
        for client in clients:
            await client.close()


async def subscriptions(services: Services) -> list[OutboxMessage]:
    async with services.reading() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.platform.in_(("kuaidi100", "aftership")))
        return list(await session.scalars(stmt.order_by(OutboxMessage.id)))


def k100(tmp_path, fake: FakeKuaidi100, key: str = KUAIDI100_KEY):  # type: ignore[no-untyped-def]
    return services_with(tmp_path, kuaidi100_key=key, kuaidi100_api_url=fake.api_url)


async def test_ship_in_chat_subscribes_the_parcel_once_with_callback_salt_and_phone(tmp_path, kuaidi100):
    services = await k100(tmp_path, kuaidi100)
    try:
        no = await packed(services)
        warehouse = Inbound("console", user="张仓", chat="张仓")
        await gateway.message(services, warehouse, f"/发货 {no} 顺丰 SF1001")  # delivers its own events
        await send_all(services)
        await send_all(services)  # a second round finds nothing left to send

        assert len(kuaidi100.requests) == 1
        form = kuaidi100.requests[0]["form"]
        assert form["schema"] == "json"
        assert json.loads(form["param"]) == {
            "company": "shunfeng",
            "number": "SF1001",
            "key": KUAIDI100_KEY,
            "parameters": {
                "callbackurl": "https://oms.example.com/webhooks/carriers/kuaidi100",
                "salt": wire.KUAIDI100_SALT,
                "resultv2": "1",
                "phone": "13800138000",  # the receiver's: SF checks its last four digits
            },
        }
        [row] = await subscriptions(services)
        assert (row.status, row.recipient, row.attempts) == (OutboxStatus.SENT, "SF:SF1001", 1)
        assert "key" not in json.dumps(row.payload)  # the key is added when sending, never stored
    finally:
        await services.close()


async def test_a_failed_subscription_is_retried_until_kuaidi100_takes_it(tmp_path, kuaidi100):
    services = await k100(tmp_path, kuaidi100)
    try:
        kuaidi100.fail_next = [(500, {"message": "Internal Server Error"}), (200, _k100("500", "服务器错误"))]
        await ship(services)
        await send_all(services)
        assert len(kuaidi100.requests) == 3 and ("shunfeng", "SF1001") in kuaidi100.subscribed
        [row] = await subscriptions(services)
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)
    finally:
        await services.close()


async def test_already_subscribed_is_success(tmp_path, kuaidi100):
    services = await k100(tmp_path, kuaidi100)
    try:
        kuaidi100.fail_next = [(200, _k100("501", "重复订阅", result=False))]
        await ship(services)
        await send_all(services)
        [row] = await subscriptions(services)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, None)
    finally:
        await services.close()


async def test_a_wrong_key_is_a_permanent_failure_the_admins_hear_of(tmp_path, kuaidi100):
    services = await k100(tmp_path, kuaidi100, key="not-the-key")
    try:
        await ship(services)
        await send_all(services)
        assert len(kuaidi100.requests) == 1  # not retried: the key will not get better
        [row] = await subscriptions(services)
        assert row.status == OutboxStatus.DEAD and "600" in (row.last_error or "")
        async with services.reading() as session:
            told = list(
                await session.scalars(
                    select(ChatMessage.text).join(User, User.id == ChatMessage.user_id).where(User.name == "管理员")
                )
            )
        assert any("Undeliverable" in (t or "") and "kuaidi100" in t and "600" in t for t in told)
    finally:
        await services.close()


@pytest.mark.parametrize("code", ["601", "700", "701", "702"])
async def test_kuaidi100_refusing_the_data_or_carrier_is_not_retried(tmp_path, kuaidi100, code):
    services = await k100(tmp_path, kuaidi100)
    try:
        kuaidi100.fail_next = [(200, _k100(code, "拒绝"))]
        await ship(services)
        await send_all(services)
        [row] = await subscriptions(services)
        assert row.status == OutboxStatus.DEAD and f"kuaidi100 {code}" in (row.last_error or "")
        assert len(kuaidi100.requests) == 1
    finally:
        await services.close()


async def test_without_a_public_url_kuaidi100_is_not_called_and_the_row_says_why(tmp_path, kuaidi100):
    services = await k100(tmp_path, kuaidi100)
    services.settings.public_url = None
    try:
        await ship(services)
        await send_all(services)
        [row] = await subscriptions(services)
        assert row.status == OutboxStatus.DEAD and "OMS_PUBLIC_URL" in (row.last_error or "")
        assert kuaidi100.requests == []
    finally:
        await services.close()


async def test_no_key_no_subscription(tmp_path, kuaidi100):
    services = await services_with(tmp_path, kuaidi100_api_url=kuaidi100.api_url)
    try:
        await ship(services)
        await send_all(services)
        assert await subscriptions(services) == [] and kuaidi100.requests == []
    finally:
        await services.close()


async def test_aftership_gets_the_tracking_with_its_key_and_exists_is_success(tmp_path, aftership):
    services = await services_with(tmp_path, aftership_api_key=AFTERSHIP_KEY, aftership_api_url=aftership.api_url)
    try:
        aftership.fail_next = [(503, {"meta": {"code": 503, "message": "Service Unavailable"}})]
        await ship(services, "DHL", "1234567890")
        no = await ship(services, "UPS", "1Z999")
        aftership.trackings[("ups", "1Z999")] = {"id": "already"}  # added in AfterShip by hand
        await send_all(services)

        created = [r for r in aftership.requests if r["body"]["tracking_number"] == "1234567890"]
        assert len(created) == 2 and created[-1]["headers"]["as-api-key"] == AFTERSHIP_KEY
        assert {k: created[-1]["body"][k] for k in ("tracking_number", "slug")} == {
            "tracking_number": "1234567890",
            "slug": "dhl",
        }
        assert [r["body"]["order_id"] for r in aftership.requests if r["body"]["slug"] == "ups"] == [no]
        rows = await subscriptions(services)
        assert [(r.platform, r.status) for r in rows] == [("aftership", OutboxStatus.SENT)] * 2
    finally:
        await services.close()


async def test_aftership_refusing_the_key_is_permanent(tmp_path, aftership):
    services = await services_with(tmp_path, aftership_api_key="wrong", aftership_api_url=aftership.api_url)
    try:
        await ship(services)
        await send_all(services)
        [row] = await subscriptions(services)
        assert row.status == OutboxStatus.DEAD and "401" in (row.last_error or "") and len(aftership.requests) == 1
    finally:
        await services.close()


async def test_the_server_subscribes_what_is_shipped(tmp_path, kuaidi100):
    """The carriers' mount registers the subscriber with the outbox: nothing but the running server."""
    services = await k100(tmp_path, kuaidi100)
    app, _ = build_app(services, [carriers, outbox.mount, events.mount])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        no = await packed(services)
        await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("YTO", "YT42")))
        await until(lambda: ("yuantong", "YT42") in kuaidi100.subscribed, timeout=20)
        parameters = kuaidi100.subscribed[("yuantong", "YT42")]["parameters"]
        assert parameters["callbackurl"].startswith(PUBLIC_URL)

        # Kuaidi100 then pushes to that callback, signed with the salt it was given: the route takes it.
        path = parameters["callbackurl"].removeprefix(PUBLIC_URL)
        scans = [("2026-12-01 09:12:00", "【杭州市】圆通速递 已揽收", "浙江省杭州市", "揽收")]
        headers, body = wire.kuaidi100_request(
            wire.kuaidi100_param("YT42", scans, com="yuantong"), salt=parameters["salt"]
        )
        async with client.post(path, data=body, headers=headers) as response:
            assert (response.status, await response.text()) == (
                200,
                '{"result":true,"returnCode":"200","message":"成功"}',
            )
        async with services.reading() as session:
            status = await session.scalar(select(Shipment.status).where(Shipment.tracking_no == "YT42"))
        assert status == "picked_up"
    finally:
        await client.close()


def _k100(code: str, message: str, *, result: bool | None = None) -> dict[str, Any]:
    return {"result": code == "200" if result is None else result, "returnCode": code, "message": message}
