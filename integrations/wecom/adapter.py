"""Mounts the WeCom (企业微信) self-built app adapter on the product's one aiohttp server.

WeCom gives a callback 5 seconds and then retries it three times, so the route only verifies and
decrypts, answers an empty 200 (no passive reply) and leaves the work to a background task. The
chat layer recognises the retries by the event ids ``callback.Event`` builds; a request stamped
older than those ids are kept (or from the future) is refused like a forged one. Card outcomes reach
every copy through the outbox (``update_template_card``); what the tapper alone should read
("Approved SO-…", "already approved") is queued as a message, since the answer has already gone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.gateway import Inbound, message, renew_copy, stale, tap
from core.config import Settings
from integrations.callback_crypto import MessageCrypto
from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.web.background import Background
from integrations.wecom import callback
from integrations.wecom.client import PLATFORM, WeComClient, with_code
from integrations.wecom.render import card_of

log = logging.getLogger(__name__)
PATH = "/wecom/callback"
CLIENT = web.AppKey("wecom_client", WeComClient)
WORK = web.AppKey("wecom_work", Background)
_REQUIRED = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_encoding_aes_key")


def mount(app: web.Application) -> str | None:
    settings: Settings = app[SERVICES].settings
    missing = [name for name in _REQUIRED if getattr(settings, name) in (None, "")]
    if missing:
        if len(missing) < len(_REQUIRED):
            log.error("wecom adapter off: %s not set", ", ".join("OMS_" + m.upper() for m in missing))
        return None
    assert settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None
    crypto = MessageCrypto(settings.wecom_token or "", settings.wecom_encoding_aes_key or "", settings.wecom_corp_id)
    client = WeComClient(settings.wecom_api_url, settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id)
    app[CLIENT] = client
    app[WORK] = Background("wecom")
    app.router.add_get(PATH, _url_check(crypto))
    app.router.add_post(PATH, _receive(crypto))
    outbox.register(app, client)
    app.cleanup_ctx.append(_drain)
    log.info("wecom adapter on (corp %s, agent %s)", settings.wecom_corp_id, settings.wecom_agent_id)
    return PLATFORM


def _url_check(crypto: MessageCrypto) -> Any:
    async def handle(request: web.Request) -> web.Response:
        try:
            echo = callback.url_check(crypto, request.query, _stale(request.app))
        except callback.Refused as refused:
            log.warning("wecom URL check refused (%s): %s", refused.status, refused.reason)
            return web.Response(status=refused.status, text=refused.reason)
        return web.Response(text=echo, content_type="text/plain")

    return handle


def _receive(crypto: MessageCrypto) -> Any:
    async def handle(request: web.Request) -> web.Response:
        if (request.content_length or 0) > callback.MAX_BODY:
            return web.Response(status=413, text="body too large")
        body = await request.read()  # the whole body, however the network split it
        try:
            event = callback.open_post(crypto, request.query, body, _stale(request.app))
        except callback.Refused as refused:
            log.warning("wecom callback refused (%s): %s", refused.status, refused.reason)
            return web.Response(status=refused.status, text=refused.reason)
        if event.kind != "other":
            request.app[WORK].spawn(_process(request.app, event))
        return web.Response(text="")

    return handle


def _stale(app: web.Application) -> callback.Stale:
    services = app[SERVICES]
    return lambda signed_at: stale(services, signed_at)


async def _process(app: web.Application, event: callback.Event) -> None:
    services = app[SERVICES]
    inbound = Inbound(PLATFORM, event.user, event.user, event.event_id)
    try:
        if event.kind == "text":
            await message(services, inbound, event.text)
        else:
            card_id = card_of(event.task_id)
            if event.response_code and card_id is not None:  # before the tap, so its own edit can use it
                code = event.response_code
                await renew_copy(
                    services,
                    PLATFORM,
                    event.user,
                    card_id,
                    lambda old: with_code(old, code),
                    handle_contains=f"|{event.task_id}|",  # the copy tapped, if the card came more than once
                )
            await tap(services, inbound, event.action, queue_replies=True)
    except Exception:  # logged with the event; WeCom will not hear about it, the user gets no reply
        log.exception("wecom event %s from %s failed", event.event_id, event.user)
        return
    outbox.wake(app)


async def _drain(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[WORK].drain()
