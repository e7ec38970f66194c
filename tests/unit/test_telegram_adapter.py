"""Mode resolution, the webhook's secret-token check, group addressing and the command menus."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot, Update

from core.config import Settings
from integrations.telegram import webhook
from integrations.telegram.adapter import menu_commands, mount, resolve_mode
from integrations.telegram.handlers import addressed_to_us
from integrations.web.app import SERVICES
from tests.fakes.telegram import TOKEN, FakeBotApi

SECRET = "s3cret_Token-1"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, "polling"),
        ({"telegram_webhook_secret": SECRET}, "webhook"),
        ({"telegram_mode": "polling", "telegram_webhook_secret": SECRET}, "polling"),
        ({"telegram_mode": "webhook", "telegram_webhook_secret": SECRET}, "webhook"),
        ({"telegram_mode": "webhook"}, "webhook"),
    ],
)
def test_mode_resolution(given, expected):
    assert resolve_mode(Settings(telegram_bot_token=TOKEN, **given)) == expected


class _Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def test_adapter_is_off_without_a_token_and_refuses_webhook_mode_without_a_secret(caplog):
    off = web.Application()
    off[SERVICES] = _Services(Settings())  # type: ignore[assignment]
    assert mount(off) is None and len(off.router.routes()) == 0
    refused = web.Application()
    refused[SERVICES] = _Services(Settings(telegram_bot_token=TOKEN, telegram_mode="webhook"))  # type: ignore[assignment]
    assert mount(refused) is None and len(refused.router.routes()) == 0
    assert "OMS_TELEGRAM_WEBHOOK_SECRET" in caplog.text


def test_webhook_mode_mounts_the_route_and_polling_mode_none():
    hooked = web.Application()
    hooked[SERVICES] = _Services(Settings(telegram_bot_token=TOKEN, telegram_webhook_secret=SECRET))  # type: ignore[assignment]
    assert mount(hooked) == "telegram"
    assert [r.resource.canonical for r in hooked.router.routes()] == [webhook.PATH]
    polled = web.Application()
    polled[SERVICES] = _Services(Settings(telegram_bot_token=TOKEN))  # type: ignore[assignment]
    assert mount(polled) == "telegram" and len(polled.router.routes()) == 0


@pytest.fixture
async def hook() -> AsyncIterator[tuple[TestClient, list[Update]]]:
    accepted: list[Update] = []
    app = web.Application()
    app.router.add_post(
        webhook.PATH, webhook.handler(SECRET, Bot(TOKEN), lambda u: accepted.append(u) or True, max_depth=32)
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client, accepted
    await client.close()


UPDATE = FakeBotApi().message_update(1001, "/order SO-100001")


@pytest.mark.parametrize("header", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
async def test_missing_or_wrong_secret_is_403_and_nothing_is_taken(hook, header):
    client, accepted = hook
    headers = {} if header is None else {webhook.SECRET_HEADER: header}
    response = await client.post(webhook.PATH, json=UPDATE, headers=headers)
    assert response.status == 403
    assert accepted == []


async def test_right_secret_is_200_and_the_update_is_taken_parsed(hook):
    client, accepted = hook
    response = await client.post(webhook.PATH, json=UPDATE, headers={webhook.SECRET_HEADER: SECRET})
    assert response.status == 200
    [update] = accepted
    assert update.update_id == UPDATE["update_id"] and update.message.text == "/order SO-100001"
    assert update.message.from_user.id == 1001 and update.message.chat.id == 1001


async def test_an_update_the_bot_cannot_take_yet_is_503_so_telegram_delivers_it_again():
    app = web.Application()
    app.router.add_post(webhook.PATH, webhook.handler(SECRET, Bot(TOKEN), lambda update: False, max_depth=32))
    async with TestClient(TestServer(app)) as client:
        response = await client.post(webhook.PATH, json=UPDATE, headers={webhook.SECRET_HEADER: SECRET})
        assert response.status == 503


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"message": {}}',
        json.dumps({"update_id": "7"}).encode(),
        b"[" * 100_000 + b"]" * 100_000,  # json.loads alone raises RecursionError on this
        b'{"update_id": 1, "message": {"text": "\\ud800"}}',
    ],
)
async def test_malformed_body_with_the_right_secret_is_400(hook, body):
    client, accepted = hook
    response = await client.post(webhook.PATH, data=body, headers={webhook.SECRET_HEADER: SECRET})
    assert response.status == 400
    assert accepted == []


@pytest.mark.parametrize(
    ("text", "chat_type", "expected"),
    [
        ("hello", "private", True),
        ("hello", "group", False),
        ("/order SO-1", "group", True),
        ("/查单 SO-1", "supergroup", True),
        ("／order SO-1", "group", True),
        ("/order@OmsBot SO-1", "group", True),
        ("/order@omsbot SO-1", "group", True),
        ("/order@OtherBot SO-1", "group", False),
    ],
)
def test_group_messages_count_only_when_they_are_commands_for_us(text, chat_type, expected):
    assert addressed_to_us(text, chat_type, "OmsBot") is expected


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_menu_commands_follow_telegram_rules(locale):
    commands = menu_commands(locale)
    assert 10 <= len(commands) <= 100
    assert {"neworder", "order", "approvals", "help"} <= {c.command for c in commands}
    for command in commands:
        assert command.command.isascii() and command.command == command.command.lower() and len(command.command) <= 32
        assert 1 <= len(command.description) <= 256
