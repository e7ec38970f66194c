"""DingTalk in Stream mode end to end: frames from a fake gateway in, robot messages and
interactive cards out to its fake OpenAPI, through the real server and outbox."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.outbox.models import OutboxMessage
from core.inbound import InboundEvent
from integrations.dingtalk import adapter
from tests.fakes.dingtalk import FakeDingTalk
from tests.support.platforms import bind, demo_services, make_approver, serve
from tests.support.service_calls import detail
from tests.support.waiting import settled, until

TEMPLATE = "tpl-oms-approval.schema"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    platform = await FakeDingTalk().start()
    yield platform
    await platform.stop()


@pytest.fixture
async def world(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(adapter, "RECONNECT_BASE_SECONDS", 0.01)
    services = await demo_services(
        tmp_path,
        dingtalk_client_id=fake.client_id,
        dingtalk_client_secret=fake.client_secret,
        dingtalk_card_template_id=TEMPLATE,
        dingtalk_api_url=fake.url,
    )
    await bind(services, "dingtalk", {"李雷": "staff_lilei", "王芳": "staff_wangfang", "赵经理": "staff_zhao"})
    await make_approver(services, "赵经理")  # a second approver: a copy of the card she does not tap
    client = await serve(services, adapter.mount, expect="dingtalk")
    yield services, client
    await client.close()


async def counts(services) -> tuple[int, int]:
    async with services.sessions() as session:
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
        inbound = await session.scalar(select(func.count()).select_from(InboundEvent))
    return outbox, inbound


def order_in(texts: list[str]) -> str | None:
    match = re.search(r"SO-\d+", " ".join(texts))
    return match.group(0) if match else None


async def handled(world, fake: FakeDingTalk) -> None:
    """The frames pushed so far have been handled and what they queued has been sent.

    The client reads frames one at a time and starts each one's work before reading the next, so
    once a ping pushed after them is answered their work has started; then it is waited for.
    """
    services, client = world
    await fake.push(fake.ping_frame(f"barrier-{len(fake.calls)}"))
    await settled(client.app, services)


async def test_order_approved_by_card_tap_over_stream(world, fake):
    services, _ = world
    await fake.connected()
    assert fake.opens[0]["subscriptions"] == [
        {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"},
        {"type": "CALLBACK", "topic": "/v1.0/card/instances/callback"},
    ]

    # 李雷 types an order big enough to need approval; the frame is acknowledged
    frame = fake.robot_frame("staff_lilei", "/neworder C002 TEA-001*45")
    ack = await fake.push(frame)
    assert ack["code"] == 200 and ack["headers"]["messageId"] == frame["headers"]["messageId"]
    assert ack["headers"]["contentType"] == "application/json" and json.loads(ack["data"]) == {"response": None}
    no = await until(lambda: order_in(fake.texts("staff_lilei")))

    # 王芳 gets an interactive card in her 1:1 chat with the robot
    track, params = await until(
        lambda: next(((t, p) for t, p in fake.cards_for("staff_wangfang").items() if no in p["title"]), None)
    )
    create = fake.cards[track]["create"]
    assert create["cardTemplateId"] == TEMPLATE and create["callbackType"] == "STREAM"
    assert create["openSpaceId"] == "dtv1.card//IM_ROBOT.staff_wangfang"
    assert params["btn1_visible"] == "true" and params["btn1_action"].startswith("ap:")
    assert params["outcome"] == "" and params["closed"] == "false"

    # She taps Approve: the order is confirmed and the card shows the outcome to every viewer
    tap = fake.card_frame(track, "staff_wangfang", {"action": params["btn1_action"]})
    ack = await fake.push(tap)
    assert ack["code"] == 200 and json.loads(ack["data"]) == {"response": {}}
    await until(lambda: "王芳" in fake.cards[track]["params"]["outcome"])
    card = fake.cards[track]["params"]
    assert card["btn1_visible"] == "false" and card["btn2_visible"] == "false" and card["closed"] == "true"
    [(other, _)] = [(t, p) for t, p in fake.cards_for("staff_zhao").items() if no in p["title"]]
    await until(lambda: "王芳" in fake.cards[other]["params"]["outcome"])  # his copy shows it too
    assert fake.cards[other]["params"]["btn1_visible"] == "false"
    assert fake.cards[track]["updates"][-1]["cardUpdateOptions"]["updateCardDataByKey"] is True
    assert (await detail(services, no))["status"] in ("confirmed", "awaiting_payment")  # C002 pays first
    told = await until(lambda: fake.texts("staff_wangfang"))
    assert no in told[-1] and "批准" in told[-1], told  # the tapper's answer: a robot message
    await until(lambda: any(no in t for t in fake.texts("staff_lilei")[1:]))  # 李雷 hears it was confirmed

    # DingTalk re-pushes the same frame: acknowledged again, nothing else happens
    await handled(world, fake)
    before = (await counts(services), len(fake.calls), json.dumps(fake.cards))
    again = await fake.push(tap)
    assert again["headers"]["messageId"] == tap["headers"]["messageId"]
    # ... and the same tap under a new delivery id is recognised by outTrackId + user + action
    await fake.push(fake.card_frame(track, "staff_wangfang", {"action": params["btn1_action"]}))
    await handled(world, fake)
    assert (await counts(services), len(fake.calls), json.dumps(fake.cards)) == before


async def test_ping_disconnect_and_drop_reconnect_with_fresh_tickets(world, fake):
    await fake.connected()
    ping = fake.ping_frame("opaque-42")
    ack = await fake.push(ping)
    assert ack["data"] == ping["data"] and json.loads(ack["data"]) == {"opaque": "opaque-42"}

    # The gateway asks us to move: a new open call, a new ticket, a new socket
    await fake.push(fake.disconnect_frame())
    await fake.connected(2)
    assert len(fake.opens) == 2 and fake.refused_tickets == 0

    # Still working: a Chinese command without the slash
    await fake.push(fake.robot_frame("staff_lilei", "库存 TEA-001"))
    await until(lambda: any("TEA-001" in t for t in fake.texts("staff_lilei")))

    # A dropped socket is reopened too (after a short backoff)
    await fake.drop()
    await fake.connected(3)
    assert len(fake.opens) == 3
    await fake.push(fake.robot_frame("staff_lilei", "/whoami"))
    await until(lambda: any("李雷" in t for t in fake.texts("staff_lilei")))


async def test_group_message_is_answered_in_the_group(world, fake):
    await fake.connected()
    await fake.push(fake.robot_frame("staff_lilei", " 查单 SO-999999 ", group="cidGroup42=="))
    [reply] = await until(lambda: fake.robot.get("cidGroup42=="))
    assert "SO-999999" in (reply.get("content") or reply.get("text"))
    assert not fake.texts("staff_lilei")


async def test_unknown_sender_is_told_how_to_get_bound(world, fake):
    services, _ = world
    await fake.connected()
    await fake.push(fake.robot_frame("staff_stranger", "/neworder C002 TEA-001*45"))
    [reply] = await until(lambda: fake.texts("staff_stranger"))
    assert "staff_stranger" in reply  # the id to give an admin for binding
    assert (await counts(services))[0] == 1 and not fake.cards
