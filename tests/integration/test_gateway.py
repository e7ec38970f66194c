"""The adapters' one entry: replies queued to the chat spoken in, retries ignored, taps answered,
and a card's later edits reaching every copy (the group it was asked in as well as direct chats)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot import gateway
from bot.gateway import Inbound
from bot.models import ChatMessage
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import OutboxMessage
from core.orders.models import Order
from core.services import Services
from tests.fakes.platform import FakePlatform, HttpClient
from tests.support.platforms import bind, demo_services


async def outbox(services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def orders(services) -> int:
    async with services.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Order))


@pytest.fixture
async def demo(tmp_path) -> AsyncIterator[Services]:
    """The demo data on a fresh database, closed after the test (its connections would outlive the loop)."""
    services = await demo_services(tmp_path)
    yield services
    await services.close()


async def test_replies_go_to_the_chat_spoken_in_and_a_retry_is_ignored(demo):
    services = demo
    await bind(services, "slack", {"李雷": "U1"})
    said = Inbound("slack", user="U1", chat="C-GROUP", event_id="evt-1")

    first = await gateway.message(services, said, "/neworder C001 TEA-001*2")
    again = await gateway.message(services, said, "/neworder C001 TEA-001*2")

    assert re.search(r"SO-\d+", first.texts[0]) and first.known and not first.duplicate
    assert again.duplicate and again.texts == []
    assert await orders(services) == 1
    replies = [m for m in await outbox(services) if m.recipient == "C-GROUP"]
    assert [m.payload["text"] for m in replies] == first.texts
    assert {m.payload["locale"] for m in replies} == {"en"}  # Slack speaks English by default
    async with services.sessions() as session:
        timeline = list(await session.scalars(select(ChatMessage.text).where(ChatMessage.platform == "slack")))
    assert timeline[0] == "/neworder C001 TEA-001*2" and timeline[1:] == first.texts


async def test_an_unknown_speaker_is_told_how_to_get_bound_in_their_platforms_language(demo):
    services = demo

    answer = await gateway.message(services, Inbound("dingtalk", user="staff9", chat="staff9"), "/order SO-1")

    assert not answer.known
    assert "dingtalk: staff9" in answer.texts[0] and "oms load" in answer.texts[0]
    [queued] = await outbox(services)
    assert queued.recipient == "staff9" and queued.payload["locale"] == "zh-CN"
    assert queued.payload["text"] == answer.texts[0]


async def test_a_tap_answers_the_tapper_and_edits_every_copy_of_the_card(demo):
    services = demo
    await bind(services, "telegram", {"李雷": "11", "王芳": "22"})
    placed = await gateway.message(services, Inbound("telegram", "11", "11", "u1"), "/neworder C002 TEA-001*45")
    order_no = re.search(r"SO-\d+", placed.texts[0]).group(0)
    # She asks in a group for what is waiting: the card comes back as a reply into the group as well.
    await gateway.message(services, Inbound("telegram", "22", "-100", "u2"), "/approvals")
    cards = [m for m in await outbox(services) if m.payload.get("card")]
    assert {m.recipient for m in cards} == {"22", "-100"}
    action = cards[0].payload["card"]["buttons"][0]["action"]

    answer = await gateway.tap(services, Inbound("telegram", "22", "-100", "cb-1"), action)
    repeat = await gateway.tap(services, Inbound("telegram", "22", "-100", "cb-1"), action)

    assert order_no in answer.texts[0] and repeat.duplicate
    edits = [m for m in await outbox(services) if m.kind == "edit"]
    assert {m.recipient for m in edits} == {"22", "-100"}
    assert all(m.payload["card"]["buttons"] == [] and "王芳" in m.payload["card"]["outcome"] for m in edits)
    assert not [m for m in await outbox(services) if m.kind == "send" and m.payload.get("text") == answer.texts[0]]


async def test_a_button_that_is_not_ours_is_refused_without_acting(demo):
    services = demo
    await bind(services, "slack", {"王芳": "U2"})

    answer = await gateway.tap(services, Inbound("slack", "U2", "U2", "x"), "approve-everything")

    assert "/approvals" in answer.texts[0]
    assert await outbox(services) == []


def test_the_command_menu_names_each_command_once_in_both_languages():
    english, chinese = dict(gateway.command_menu("en")), dict(gateway.command_menu("zh-CN"))
    assert english.keys() == chinese.keys() and {"order", "approve", "neworder", "help"} <= english.keys()
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", name) for name in english)
    assert english["order"] != chinese["order"]  # translated, not echoed


async def test_a_tap_on_one_platform_closes_the_card_on_every_other(demo):
    services = demo
    await bind(services, "dingtalk", {"王芳": "staff_wf"})
    await bind(services, "telegram", {"王芳": "22", "李雷": "11"})
    await gateway.message(services, Inbound("telegram", "11", "11", "u1"), "/neworder C002 TEA-001*45")
    cards = [m for m in await outbox(services) if m.payload.get("card")]
    assert {(m.platform, m.recipient, m.payload["locale"]) for m in cards} == {
        ("dingtalk", "staff_wf", "zh-CN"),
        ("telegram", "22", "en"),
    }
    assert "审批" in next(m for m in cards if m.platform == "dingtalk").payload["card"]["title"]
    telegram_card = next(m for m in cards if m.platform == "telegram").payload["card"]

    await gateway.tap(services, Inbound("telegram", "22", "22", "cb-1"), telegram_card["buttons"][0]["action"])

    edits = {m.platform: m.payload for m in await outbox(services) if m.kind == "edit"}
    assert edits.keys() == {"dingtalk", "telegram"}
    assert edits["dingtalk"]["card"]["buttons"] == [] and "王芳" in edits["dingtalk"]["card"]["outcome"]
    assert edits["dingtalk"]["locale"] == "zh-CN"  # each copy keeps the language it was sent in


async def test_a_buttons_typed_command_does_what_the_button_does(demo):
    services = demo
    await bind(services, "dingtalk", {"王芳": "staff_wf", "李雷": "staff_ll"})
    await gateway.message(services, Inbound("dingtalk", "staff_ll", "staff_ll", "m1"), "/neworder C002 TEA-001*45")
    [card] = [m.payload["card"] for m in await outbox(services) if m.payload.get("card")]
    approve, reject = card["buttons"]
    assert reject["command"].endswith(" 原因")  # she replaces the placeholder with her reason

    answer = await gateway.message(services, Inbound("dingtalk", "staff_wf", "staff_wf", "m2"), approve["command"])

    assert "批准" in answer.texts[0]
    edits = [m.payload["card"] for m in await outbox(services) if m.kind == "edit"]
    assert edits and edits[-1]["buttons"] == [] and "王芳" in edits[-1]["outcome"]


async def test_two_copies_in_one_chat_are_both_edited_and_a_handle_renews_only_its_copy(demo):
    services = demo
    await bind(services, "telegram", {"李雷": "11", "王芳": "22"})
    platform = await FakePlatform().start()
    client = HttpClient(platform.url, platform="telegram")
    try:
        await gateway.message(services, Inbound("telegram", "11", "11", "u1"), "/neworder C002 TEA-001*45")
        await gateway.message(services, Inbound("telegram", "22", "22", "u2"), "/approvals")  # a second copy
        dispatcher = Dispatcher(services, [client])
        await dispatcher.run_until_idle(timeout=20)
        copies = [m for m in await outbox(services) if m.recipient == "22" and m.payload.get("card")]
        assert len(copies) == 2 and len({m.platform_message_id for m in copies}) == 2

        renewed = await gateway.renew_copy(
            services,
            "telegram",
            "22",
            copies[0].card_id,
            lambda old: old + "+",
            handle_contains=copies[0].platform_message_id,
        )
        assert renewed
        after = {m.id: m.platform_message_id for m in await outbox(services) if m.id in {c.id for c in copies}}
        assert after == {copies[0].id: copies[0].platform_message_id + "+", copies[1].id: copies[1].platform_message_id}

        action = copies[0].payload["card"]["buttons"][0]["action"]
        await gateway.tap(services, Inbound("telegram", "22", "22", "cb-1"), action)
        await dispatcher.run_until_idle(timeout=20)
        edited = {m["edit"] for m in platform.received["22"] if "edit" in m}
        assert edited == set(after.values())  # every copy, each under its own message id
    finally:
        await client.close()
        await platform.stop()


async def test_a_failure_around_the_chat_layer_is_told_to_the_person(demo, monkeypatch):
    services = demo
    await bind(services, "slack", {"李雷": "U1"})

    async def database_gone(*args, **kwargs):
        raise OSError("database is locked")

    monkeypatch.setattr(gateway, "answer_text", database_gone)
    answer = await gateway.message(services, Inbound("slack", "U1", "C1", "e1"), "/order SO-1")

    assert "something went wrong" in answer.texts[0] and "reference" in answer.texts[0]
    [sorry] = await outbox(services)
    assert sorry.recipient == "C1" and sorry.payload["text"] == answer.texts[0]


async def test_a_mistyped_command_is_answered_with_its_own_declared_usage(demo):
    services = demo
    await bind(services, "slack", {"王芳": "U2", "张仓": "U3"})

    approve = await gateway.message(services, Inbound("slack", "U2", "U2", "e1"), "/approve")
    ship = await gateway.message(services, Inbound("slack", "U3", "U3", "e2"), "/ship SO-100001")

    assert approve.texts == ["Usage: /approve SO-100001"]
    assert ship.texts == ["Usage: /ship SO-100001 SF 1234567890"]
