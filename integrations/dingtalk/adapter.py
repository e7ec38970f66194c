"""Mounts DingTalk on the server: the outbox client and the Stream connection always (no public
URL needed); in ``OMS_DINGTALK_MODE=http`` robot messages and events arrive on
``POST /dingtalk/callback`` instead, and the Stream connection carries only card taps.

Inbound work runs in background tasks kept on the app, so a frame or request is acknowledged
before the chat layer runs, and shutdown waits for (then cancels) what is still going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.gateway import first_use
from integrations.dingtalk.client import DingTalkClient
from integrations.dingtalk.inbound import handle_message, handle_tap
from integrations.dingtalk.stream import (
    BOT_MESSAGE_TOPIC,
    CARD_CALLBACK_TOPIC,
    CARD_TAPS_ONLY,
    SUBSCRIPTIONS,
    StreamClient,
)
from integrations.dingtalk.webhook import Callback, event_crypto
from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.web.background import Background

log = logging.getLogger(__name__)
NAME = "dingtalk"
SIGN_SOURCE = "dingtalk-sign"  # inbound_event source of the robot callback's (timestamp, sign) pairs
WORK = web.AppKey("dingtalk_work", Background)
STREAM = web.AppKey("dingtalk_stream", StreamClient)
RECONNECT_BASE_SECONDS = 1.0  # first reconnect delay, doubling to 60 s (tests make it shorter)


def mount(app: web.Application) -> str | None:
    settings = app[SERVICES].settings
    if not (settings.dingtalk_client_id and settings.dingtalk_client_secret):
        if settings.dingtalk_client_id or settings.dingtalk_client_secret:
            log.error("dingtalk adapter off: set both OMS_DINGTALK_CLIENT_ID and OMS_DINGTALK_CLIENT_SECRET")
        return None
    http = settings.dingtalk_mode == "http"
    client = DingTalkClient(
        client_id=settings.dingtalk_client_id,
        client_secret=settings.dingtalk_client_secret,
        robot_code=settings.dingtalk_robot_code,
        card_template_id=settings.dingtalk_card_template_id,
        api_url=settings.dingtalk_api_url,
        oapi_url=settings.dingtalk_oapi_url,
        agent_id=settings.dingtalk_agent_id,
    )
    outbox.register(app, client)
    app[WORK] = Background(NAME)

    def schedule(kind: str, data: dict[str, Any]) -> None:
        app[WORK].spawn(_work(app, kind, data))

    async def on_frame(kind: str, topic: str, data: dict[str, Any], headers: dict[str, Any]) -> None:
        if topic == BOT_MESSAGE_TOPIC:
            schedule("message", data)
        elif topic == CARD_CALLBACK_TOPIC:
            schedule("tap", data)
        else:
            log.info("dingtalk stream %s %r ignored", kind, topic)

    if http:
        crypto = None
        if settings.dingtalk_callback_token and settings.dingtalk_callback_aes_key:
            crypto = event_crypto(
                settings.dingtalk_callback_token, settings.dingtalk_callback_aes_key, settings.dingtalk_client_id
            )
        else:
            log.warning("dingtalk http mode without callback token/AES key: only robot messages are accepted")
        callback = Callback(
            client_secret=settings.dingtalk_client_secret,
            crypto=crypto,
            schedule=schedule,
            claim=lambda credential, body: first_use(app[SERVICES], SIGN_SOURCE, credential, body),
            max_depth=settings.max_json_depth,
        )
        app.router.add_post("/dingtalk/callback", callback.handle)
    # Card taps always come over Stream (an outbound connection): DingTalk's HTTP card callback is
    # signed in a way we could not confirm, and an unverified tap could approve an order.
    app[STREAM] = StreamClient(
        client_id=settings.dingtalk_client_id,
        client_secret=settings.dingtalk_client_secret,
        handler=on_frame,
        api_url=settings.dingtalk_api_url,
        base_delay=RECONNECT_BASE_SECONDS,
        subscriptions=CARD_TAPS_ONLY if http else SUBSCRIPTIONS,
    )
    app.cleanup_ctx.append(_lifetime)
    return NAME


async def _work(app: web.Application, kind: str, data: dict[str, Any]) -> None:
    services = app[SERVICES]
    try:
        answer = await (handle_message if kind == "message" else handle_tap)(services, data)
    except Exception:  # one bad event must not take the connection down; the chat layer logged details
        log.exception("dingtalk %s failed", kind)
        return
    if answer is not None and not answer.duplicate:
        outbox.wake(app)


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    stream = asyncio.create_task(app[STREAM].run())
    yield
    stream.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stream
    await app[WORK].drain()
