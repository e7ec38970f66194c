"""Telegram end to end: the real server with the adapter and the outbox, against a fake Bot API
that speaks Telegram's wire format. Webhook mode for the order flow, polling mode for intake."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.services import Services
from integrations.telegram.adapter import mount
from integrations.telegram.webhook import PATH, SECRET_HEADER
from tests.fakes.telegram import TOKEN, FakeBotApi
from tests.support.platforms import bind, demo_services, order_no, outbox_rows, serve
from tests.support.service_calls import detail, place
from tests.support.waiting import unsent, until

SECRET = "wh_secret-For-Tests"
LILEI, WANGFANG, C001, C002 = 1001, 1002, 1003, 1004
BARRIER = C002  # the chat Telegram.handled() uses
GROUP = -1001234567890


@dataclass
class Telegram:
    server: TestClient
    fake: FakeBotApi
    services: Services

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        """Deliver as Telegram does: a 503 (bot not up yet) is delivered again a little later."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        deadline = time.monotonic() + 10
        while (status := (await self.server.post(PATH, json=update, headers=headers)).status) == 503:
            assert time.monotonic() < deadline, "the bot never became ready"
            await asyncio.sleep(0.05)
        return status

    async def say(self, user: int, text: str, chat: int | None = None, expect: str = "") -> str:
        """Send ``text`` as ``user``; the first new message in that chat containing ``expect``."""
        chat = user if chat is None else chat
        before = len(self.fake.chats[chat])
        update = self.fake.message_update(user, text, chat_id=chat, chat_type="private" if chat > 0 else "supergroup")
        assert await self.post(update) == 200
        return await until(
            lambda: next((m["text"] for m in self.fake.messages(chat)[before:] if expect in m["text"]), None)
        )

    def cards(self, chat: int, title: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages(chat) if m["html"].startswith("<b>") and title in m["text"]]

    async def handled(self) -> None:
        """Every update delivered so far has been handled, and what it queued has been sent.

        The bot takes updates one at a time, in order, so once a ``/whoami`` posted after them is
        answered (in the barrier chat, which the tests leave alone otherwise), they are done.
        """
        await self.say(BARRIER, "/whoami", expect="广州茶馆")
        await until(self.all_sent)

    async def all_sent(self) -> bool:
        return await unsent(self.services) == 0

    def calls_since(self, start: int) -> list[str]:
        """The Bot API methods called since ``start``, leaving out the barrier chat's."""
        return [m for m, params in self.fake.calls[start:] if str(params.get("chat_id")) != str(BARRIER)]


@pytest.fixture
async def telegram(tmp_path) -> AsyncIterator[Telegram]:
    fake = await FakeBotApi().start()
    services = await demo_services(
        tmp_path, telegram_bot_token=TOKEN, telegram_webhook_secret=SECRET, telegram_api_url=fake.base_url
    )
    await bind(
        services, "telegram", {"李雷": str(LILEI), "王芳": str(WANGFANG), "杭州茶社": str(C001), "广州茶馆": str(C002)}
    )
    server = await serve(services, mount, expect="telegram")
    yield Telegram(server, fake, services)
    await server.close()
    await fake.stop()


async def test_menus_are_registered_in_english_and_chinese_at_startup(telegram):
    menus = await until(lambda: len(telegram.fake.commands) == 2 and telegram.fake.commands)
    assert set(menus) == {"", "zh"}
    assert {"command": "neworder", "description": "Place an order"} in menus[""]
    assert {"command": "neworder", "description": "下单"} in menus["zh"]
    assert not telegram.fake.methods("deleteWebhook") and not telegram.fake.methods("setWebhook")


async def test_order_approved_with_a_tap_updates_every_copy(telegram):
    fake = telegram.fake
    # Li Lei enters a big order in his private chat; the reply comes back there
    placed = await telegram.say(LILEI, "/neworder C002 TEA-001*45")
    no = order_no(placed)
    # The approver gets the card with an inline keyboard in her private chat, and a copy in the group
    [card] = await until(lambda: telegram.cards(WANGFANG, no))
    buttons = {b["text"]: b["callback_data"] for b in card["reply_markup"]["inline_keyboard"][0]}
    assert set(buttons) == {"Approve", "Reject"} and "Customer: 广州茶馆" in card["text"]
    await telegram.say(WANGFANG, "/approvals", chat=GROUP)
    [group_copy] = await until(lambda: telegram.cards(GROUP, no))
    assert group_copy["reply_markup"] == card["reply_markup"]

    assert (await detail(telegram.services, no))["status"] == "pending_approval"
    # She taps Approve in her private chat
    tap = fake.callback_update(WANGFANG, WANGFANG, card["message_id"], buttons["Approve"])
    assert await telegram.post(tap) == 200
    [answer] = await until(lambda: fake.answers)
    assert answer["callback_query_id"] == tap["callback_query"]["id"]
    assert answer["text"] == f"Approved {no}." and answer.get("show_alert") in (None, False)
    # Both copies lose their keyboard and show who approved it
    for chat in (WANGFANG, GROUP):
        [copy] = await until(lambda chat=chat: [c for c in telegram.cards(chat, no) if "reply_markup" not in c])
        assert "Approved by 王芳" in copy["text"] and copy.get("edit_date")
    status = (await detail(telegram.services, no))["status"]
    assert status not in ("pending_approval", "rejected")  # confirmed, and moved on towards the warehouse
    assert any(f"{no} was confirmed." in m["text"] for m in await until(lambda: fake.messages(LILEI)[1:]))

    # The same update again (Telegram re-delivering) changes nothing and sends nothing
    await until(telegram.all_sent)
    rows, calls = await outbox_rows(telegram.services), len(fake.calls)
    assert await telegram.post(tap) == 200
    await telegram.handled()
    assert len(fake.answers) == 2 and fake.answers[1].get("text") is None  # answered, so the spinner stops
    assert await outbox_rows(telegram.services) == rows + 1  # the barrier's reply, nothing else
    assert telegram.calls_since(calls) == ["answerCallbackQuery"]
    assert (await detail(telegram.services, no))["status"] == status


async def test_a_repeated_message_update_is_answered_once(telegram):
    update = telegram.fake.message_update(LILEI, "/neworder C001 TEA-001*1 pay=credit")
    assert await telegram.post(update) == 200
    await until(lambda: telegram.fake.chats[LILEI])
    rows = await outbox_rows(telegram.services)
    assert await telegram.post(update) == 200
    await telegram.handled()
    assert len(telegram.fake.chats[LILEI]) == 1 and await outbox_rows(telegram.services) == rows + 1  # + barrier


async def test_a_customer_sees_their_own_order_and_not_another_customers(telegram):
    own = await place(telegram.services, "C001", {"TEA-001": 2}, payment_terms="credit")
    other = await place(telegram.services, "C002", {"TEA-001": 1})
    shown = await telegram.say(C001, f"/查单 {own}", expect="Customer:")
    assert own in shown and "杭州茶社" in shown and "TEA-001" in shown
    refused = await telegram.say(C001, f"/order {other}", expect=other)
    assert refused == f"Order {other} does not exist."  # not even whether it exists leaks
    assert not any("广州茶馆" in m["text"] for m in telegram.fake.messages(C001))


async def test_a_command_in_a_group_is_answered_in_the_group(telegram):
    no = order_no(await telegram.say(LILEI, "/neworder C001 TEA-001*2 pay=credit"))
    reply = await telegram.say(LILEI, f"/order@OmsBot {no}", chat=GROUP, expect="Customer:")
    assert no in reply and "杭州茶社" in reply
    assert [m["chat"]["id"] for m in telegram.fake.messages(GROUP)] == [GROUP]
    # A remark in the group that is not a command is left alone
    calls = len(telegram.fake.calls)
    assert (
        await telegram.post(telegram.fake.message_update(LILEI, "thanks all", chat_id=GROUP, chat_type="group")) == 200
    )
    await telegram.handled()
    assert len(telegram.fake.messages(GROUP)) == 1 and telegram.calls_since(calls) == []


async def test_throttling_delays_a_message_without_losing_it(telegram):
    telegram.fake.script.append(("sendMessage", 1))  # Telegram: 429, retry after 1 second
    started = time.monotonic()
    reply = await telegram.say(LILEI, "/help")
    assert time.monotonic() - started >= 0.9
    assert "/neworder" in reply
    sends = telegram.fake.methods("sendMessage")
    assert len(sends) == 2 and sends[0] == sends[1]  # the same message, once refused, then delivered
    assert len(telegram.fake.chats[LILEI]) == 1


@pytest.mark.parametrize("secret", [None, "wrong-secret", SECRET.upper()])
async def test_a_forged_tap_is_refused_and_changes_nothing(telegram, secret):
    no = order_no(await telegram.say(LILEI, "/neworder C002 TEA-001*45"))
    [card] = await until(lambda: telegram.cards(WANGFANG, no))
    await until(telegram.all_sent)
    before = await detail(telegram.services, no)
    rows, calls = await outbox_rows(telegram.services), len(telegram.fake.calls)
    approve = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    forged = telegram.fake.callback_update(WANGFANG, WANGFANG, card["message_id"], approve)

    assert await telegram.post(forged, secret=secret) == 403

    await telegram.handled()
    assert await detail(telegram.services, no) == before
    assert await outbox_rows(telegram.services) == rows + 1  # the barrier's reply
    assert telegram.calls_since(calls) == [] and telegram.fake.answers == []
    assert "reply_markup" in telegram.fake.chats[WANGFANG][card["message_id"]]


async def test_polling_mode_takes_updates_from_get_updates_and_answers(tmp_path):
    fake = await FakeBotApi().start()
    services = await demo_services(tmp_path, telegram_bot_token=TOKEN, telegram_api_url=fake.base_url)
    await bind(services, "telegram", {"李雷": str(LILEI)})
    server = await serve(services, mount, expect="telegram")
    try:
        await until(lambda: fake.methods("deleteWebhook"))  # getUpdates is refused while a webhook is set
        assert (await server.post(PATH, json={"update_id": 1})).status in (404, 405)  # no webhook route
        update = fake.message_update(LILEI, "/neworder C001 TEA-001*1 pay=credit")
        await fake.queue(update)
        await until(lambda: fake.chats[LILEI])
        assert re.search(r"SO-\d+", fake.messages(LILEI)[0]["text"])
        # The update is confirmed by a later getUpdates with a higher offset
        await until(lambda: any(p.get("offset") == update["update_id"] + 1 for p in fake.methods("getUpdates")))
        assert {p.get("allowed_updates") and tuple(p["allowed_updates"]) for p in fake.methods("getUpdates")} == {
            ("message", "callback_query")
        }
    finally:
        await server.close()
        await fake.stop()
    assert fake.updates == []  # shutting down confirmed what was taken


async def test_an_unreachable_telegram_at_startup_delays_the_adapter_not_the_server(tmp_path):
    fake = await FakeBotApi().start()
    port = int(fake.url.rsplit(":", 1)[1])
    await fake.stop()  # Telegram is down while the server starts
    services = await demo_services(
        tmp_path, telegram_bot_token=TOKEN, telegram_webhook_secret=SECRET, telegram_api_url=fake.base_url
    )
    await bind(services, "telegram", {"李雷": str(LILEI)})
    server = await serve(services, mount, expect="telegram")
    try:
        assert (await server.get("/healthz")).status == 200
        update = fake.message_update(LILEI, "/neworder C001 TEA-001*1 pay=credit")
        response = await server.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
        assert response.status == 503  # not taken while the bot cannot answer: Telegram keeps it
        await fake.start(port)
        assert await Telegram(server, fake, services).post(update) == 200  # Telegram's next attempt
        await until(lambda: fake.chats[LILEI])
        assert re.search(r"SO-\d+", fake.messages(LILEI)[0]["text"]) and fake.methods("getMe")
    finally:
        await server.close()
        await fake.stop()


async def test_updates_from_one_chat_are_handled_in_the_order_they_came(telegram):
    fake = telegram.fake
    await telegram.say(LILEI, "/whoami")  # the bot is up
    before = len(fake.messages(LILEI))
    switch = fake.message_update(LILEI, "/lang zh")
    ask = fake.message_update(LILEI, "/whoami")
    assert [await telegram.post(switch), await telegram.post(ask)] == [200, 200]
    replies = await until(lambda: (m := fake.messages(LILEI)[before:]) and len(m) == 2 and m)
    assert "李雷" in replies[1]["text"] and "您" in replies[1]["text"]  # asked after the switch: in Chinese
