"""Mounts the Slack adapter on the product's one aiohttp server.

Slack-bolt does the Slack side (signature check, ``url_verification``, routing events, slash
commands and button taps to listeners, ignoring our own messages); it runs on our server through
its aiohttp adapter, so no second web server. With ``OMS_SLACK_APP_TOKEN`` the same Bolt app also
takes Slack's deliveries over Socket Mode, for deployments with no public URL. The HTTP route is
only mounted when there is a signing secret to check requests against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack.client import PLATFORM, SlackClient
from integrations.slack.listeners import BotIdentity, build
from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.web.background import Background

log = logging.getLogger(__name__)
PATH = "/slack/events"
BOLT = web.AppKey("slack_bolt", AsyncApp)
WORK = web.AppKey("slack_work", Background)


def mount(app: web.Application) -> str | None:
    settings = app[SERVICES].settings
    if not settings.slack_bot_token:
        return None
    if not settings.slack_signing_secret and not settings.slack_app_token:
        log.error("slack adapter off: set OMS_SLACK_SIGNING_SECRET (Events API) or OMS_SLACK_APP_TOKEN (Socket Mode)")
        return None
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=_with_slash(settings.slack_api_url))
    background = app[WORK] = Background("slack")
    who = BotIdentity()
    bolt = build(app, client, settings.slack_signing_secret or "", background, who)
    app[BOLT] = bolt
    if settings.slack_signing_secret:
        app.router.add_post(PATH, _events(bolt, SignatureVerifier(settings.slack_signing_secret)))
    outbox.register(app, SlackClient(client))

    async def run(app: web.Application) -> AsyncIterator[None]:
        learning = asyncio.create_task(_learn_identity(client, who))
        socket = await _start_socket_mode(bolt, settings.slack_app_token) if settings.slack_app_token else None
        yield
        learning.cancel()
        if socket is not None:
            await _stop_socket_mode(*socket)
        await background.drain()

    app.cleanup_ctx.append(run)
    log.info("slack adapter on (%s)", "socket mode" if settings.slack_app_token else "events API")
    return PLATFORM


async def _learn_identity(client: AsyncWebClient, who: BotIdentity) -> None:
    """``auth.test`` once, in the background and retried, so no request waits for it."""
    delay = 1.0
    while True:
        try:
            answer = await client.auth_test()
            who.bot_id, who.bot_user_id = answer.get("bot_id"), answer.get("user_id")
            log.info("slack bot is %s (%s)", who.bot_user_id, answer.get("team"))
            return
        except Exception as error:  # unreachable, or a bad token: say so and keep trying
            log.warning("slack auth.test failed (%s); retrying in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _events(bolt: AsyncApp, verifier: SignatureVerifier) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        """Checked here before anything is parsed, so a forged or stale request is a plain 401 and a
        signed but unreadable one a 400; Bolt checks again and does the rest."""
        body = await request.text()
        if body.startswith("ssl_check=1") or "&ssl_check=1" in body:
            return web.Response(status=200)  # Slack checking our certificate: nothing to act on
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not verifier.is_valid(body, timestamp, signature):
            log.warning("slack request refused: bad or stale signature (timestamp %r)", timestamp)
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):  # not JSON, not an object, too deep
            return web.json_response({"error": "malformed body"}, status=400)
        response = await bolt.async_dispatch(bolt_request)
        if request.headers.get("X-Slack-Retry-Num"):
            log.info(
                "slack retry %s (%s) answered %s",
                request.headers["X-Slack-Retry-Num"],
                request.headers.get("X-Slack-Retry-Reason"),
                response.status,
            )
        return await to_aiohttp_response(response)

    return handle


async def _start_socket_mode(bolt: AsyncApp, app_token: str) -> tuple[AsyncSocketModeHandler, asyncio.Task[None]]:
    """Connecting runs in the background: the server starts even while Slack is unreachable, and the
    SDK keeps retrying (and reconnects when Slack asks it to)."""
    handler = AsyncSocketModeHandler(bolt, app_token)
    return handler, asyncio.create_task(handler.connect_async())


async def _stop_socket_mode(handler: AsyncSocketModeHandler, connecting: asyncio.Task[None]) -> None:
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    await handler.close_async()
