"""Slack end to end: the real server with the adapter and the outbox against a fake Slack that
speaks its wire format (signed requests, Web API answers, Socket Mode)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.outbox.models import OutboxMessage, OutboxStatus
from core.services import Services
from integrations.slack.adapter import PATH, mount
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    app_mention,
    block_actions,
    direct_message,
    form,
    signed,
    slash_command,
)
from tests.support.platforms import bind, demo_services, order_no, outbox_rows, serve
from tests.support.service_calls import detail
from tests.support.waiting import background_work, settled, until

LILEI, WANGFANG, STRANGER = "U0LILEI", "U0WANGFANG", "U0NOBODY"
SALES = "C0SALES"


@dataclass
class Slack:
    server: TestClient
    fake: FakeSlack
    services: Services

    async def post(self, body: str, headers: dict[str, str]) -> Any:
        return await self.server.post(PATH, data=body.encode(), headers=headers)

    async def command(self, user: str, text: str, channel: str = SALES, **extra: str) -> Any:
        body, headers = form(slash_command(user, text, channel))
        return await self.post(body, {**headers, **signed(body), **extra})

    async def event(self, payload: dict[str, Any], **extra: str) -> Any:
        body = json.dumps(payload)
        return await self.post(body, {"Content-Type": "application/json", **signed(body), **extra})

    async def tap(self, payload: dict[str, Any], **extra: str) -> Any:
        body, headers = form({"payload": json.dumps(payload)})
        return await self.post(body, {**headers, **signed(body), **extra})

    def cards(self, channel: str, title: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages(channel) if m["blocks"] and title in m["text"]]

    async def settled(self) -> None:
        """What the adapter acknowledged has run, and the outbox has sent what it queued."""
        await settled(self.server.app, self.services)


def actions(message: dict[str, Any]) -> dict[str, str]:
    [block] = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["text"]["text"]: e["action_id"] for e in block["elements"]}


@pytest.fixture
async def slack(tmp_path) -> AsyncIterator[Slack]:
    fake = await FakeSlack().start()
    services = await demo_services(
        tmp_path, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.base_url
    )
    await bind(services, "slack", {"李雷": LILEI, "王芳": WANGFANG})
    server = await serve(services, mount, expect="slack")
    yield Slack(server, fake, services)
    await server.close()
    await fake.stop()


async def test_order_approved_with_a_tap_updates_every_copy(slack):
    fake = slack.fake
    # Li Lei's slash command in the sales channel is acknowledged at once; the reply comes to his
    # direct chat with the bot (the bot may not be in the channel, and the room need not see it)
    started = time.monotonic()
    response = await slack.command(LILEI, "neworder C002 TEA-001*45")
    assert response.status == 200 and time.monotonic() - started < 3
    placed = await until(lambda: [t for t in fake.texts(fake.dm(LILEI)) if "SO-" in t])
    no = order_no(placed[0])
    assert fake.texts(SALES) == []
    # The approver gets a Block Kit card in her direct chat, and a copy when she asks the bot in the channel
    [card] = await until(lambda: slack.cards(fake.dm(WANGFANG), no))
    buttons = actions(card)
    assert set(buttons) == {"Approve", "Reject"}
    assert any("*Customer*\n广州茶馆" == f["text"] for b in card["blocks"] for f in b.get("fields", []))
    assert (await slack.event(app_mention(WANGFANG, "approvals", SALES))).status == 200
    [channel_copy] = await until(lambda: slack.cards(SALES, no))
    assert actions(channel_copy) == buttons

    # She taps Approve in her direct chat
    tap = block_actions(WANGFANG, card, fake.dm(WANGFANG), buttons["Approve"])
    assert (await slack.tap(tap)).status == 200
    [toast] = await until(lambda: fake.ephemeral)
    assert toast["user"] == WANGFANG and toast["channel"] == fake.dm(WANGFANG) and toast["text"] == f"Approved {no}."
    # Both copies are updated in place: no buttons, the outcome names her
    for channel in (fake.dm(WANGFANG), SALES):
        [copy] = await until(lambda channel=channel: [c for c in slack.cards(channel, no) if "edited" in c], timeout=5)
        assert all(b["type"] != "actions" for b in copy["blocks"])
        assert "Approved by 王芳" in json.dumps(copy["blocks"], ensure_ascii=False) and "王芳" in copy["text"]
    assert len(fake.methods("chat.update")) == 2
    status = (await detail(slack.services, no))["status"]
    assert status != "awaiting_approval"
    await until(lambda: any(f"{no} was confirmed." in t for t in fake.texts(fake.dm(LILEI))))

    # The same tap delivered again (a retry) changes nothing and sends nothing
    await slack.settled()
    rows, calls = await outbox_rows(slack.services), len(fake.calls)
    assert (await slack.tap(tap, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})).status == 200
    await slack.settled()
    assert await outbox_rows(slack.services) == rows and len(fake.ephemeral) == 1
    assert fake.calls[calls:] == []  # no toast, no message, no card edit
    assert (await detail(slack.services, no))["status"] == status


async def test_direct_message_and_its_retry_count_once(slack):
    fake = slack.fake
    event = direct_message(LILEI, "order SO-999999")
    assert (await slack.event(event)).status == 200
    [reply] = await until(lambda: fake.texts(fake.dm(LILEI)))
    assert "SO-999999" in reply
    rows = await outbox_rows(slack.services)
    retried = await slack.event(event, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retried.status == 200
    await slack.settled()
    assert await outbox_rows(slack.services) == rows and len(fake.texts(fake.dm(LILEI))) == 1


async def test_our_own_messages_and_edits_are_not_commands(slack):
    fake = slack.fake
    own = direct_message(LILEI, "/help")
    own["event"].update(user="U0BOT", bot_id="B0BOT")
    edited = direct_message(LILEI, "/help")
    edited["event"]["subtype"] = "message_changed"
    for event in (own, edited):
        assert (await slack.event(event)).status == 200
        assert not background_work(slack.server.app)  # acknowledged, and no work started for it
    await slack.settled()
    assert await outbox_rows(slack.services) == 0 and not fake.methods("chat.postMessage")


async def test_url_verification_answers_the_challenge(slack):
    response = await slack.event(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    assert response.status == 200
    assert (await response.json())["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


async def test_unknown_user_is_told_how_to_get_bound(slack):
    assert (await slack.command(STRANGER, "order SO-100001", channel="D0NOBODY")).status == 200
    [reply] = await until(lambda: slack.fake.texts(slack.fake.dm(STRANGER)))
    assert f"slack: {STRANGER}" in reply and "oms load" in reply


async def test_throttled_message_is_delayed_not_lost(slack):
    fake = slack.fake
    fake.script["chat.postMessage"] = [429]
    started = time.monotonic()
    assert (await slack.command(LILEI, "help")).status == 200
    [reply] = await until(lambda: fake.texts(fake.dm(LILEI)), timeout=6)
    assert reply and time.monotonic() - started >= 0.9  # Retry-After: 1 was obeyed
    assert len(fake.methods("chat.postMessage")) == 2

    async def only_sent() -> bool:  # the platform has it; the row is marked once the dispatcher's finish commits
        async with slack.services.sessions() as session:
            return list((await session.scalars(select(OutboxMessage.status))).all()) == [OutboxStatus.SENT]

    assert await until(only_sent, timeout=5)


async def test_socket_mode_takes_commands_and_acks_envelopes(tmp_path):
    fake = await FakeSlack().start()
    services = await demo_services(
        tmp_path, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=fake.base_url
    )
    await bind(services, "slack", {"李雷": LILEI})
    server = await serve(services, mount, expect="slack")
    try:
        await asyncio.wait_for(fake.connected.wait(), 5)
        assert len(fake.methods("apps.connections.open")) == 1  # with the xapp- token (the fake checks it)
        # no signing secret: the HTTP route is not there at all
        body, headers = form(slash_command(LILEI, "help"))
        assert (await server.post(PATH, data=body, headers={**headers, **signed(body)})).status in (404, 405)
        envelope = await fake.push(
            "slash_commands", slash_command(LILEI, "stock TEA-001"), accepts_response_payload=True
        )
        [ack] = await until(lambda: [a for a in fake.acks if a.get("envelope_id") == envelope])
        assert set(ack) <= {"envelope_id", "payload"}
        [reply] = await until(lambda: fake.texts(fake.dm(LILEI)))
        assert "TEA-001" in reply
        event = await fake.push("events_api", direct_message(LILEI, "order SO-999999"))
        await until(lambda: [a for a in fake.acks if a.get("envelope_id") == event])
        await until(lambda: [t for t in fake.texts(fake.dm(LILEI)) if "SO-999999" in t])
        # a tap on a button that is no longer ours: acked, and the tapper is told privately
        stale = {
            "ts": "1700000000.000100",
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "card:1:1",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "zz:1:1",
                            "value": "zz:1:1",
                            "text": {"type": "plain_text", "text": "X"},
                        }
                    ],
                }
            ],
        }
        interactive = await fake.push("interactive", block_actions(LILEI, stale, fake.dm(LILEI), "zz:1:1"))
        await until(lambda: [a for a in fake.acks if a.get("envelope_id") == interactive])
        [toast] = await until(lambda: fake.ephemeral)
        assert toast["user"] == LILEI and "/approvals" in toast["text"]
    finally:
        await server.close()
        await fake.stop()


async def test_a_slow_slack_api_does_not_hold_up_the_acknowledgement(tmp_path):
    fake = await FakeSlack().start()
    fake.slow["auth.test"] = 4.0  # Bolt would ask this before acking the first request
    services = await demo_services(
        tmp_path, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.base_url
    )
    await bind(services, "slack", {"李雷": LILEI})
    server = await serve(services, mount, expect="slack")
    try:
        body, headers = form(slash_command(LILEI, "stock TEA-001"))
        started = time.monotonic()
        response = await server.post(PATH, data=body.encode(), headers={**headers, **signed(body)})
        assert response.status == 200 and time.monotonic() - started < 3.0  # Slack's window; its API here takes 4 s
        [reply] = await until(lambda: fake.texts(fake.dm(LILEI)))
        assert "TEA-001" in reply
    finally:
        await server.close()
        await fake.stop()
