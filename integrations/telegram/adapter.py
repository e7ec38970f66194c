"""Mounts the Telegram adapter on the product's one aiohttp server.

PTB's ``Application`` does the Telegram side (parsing updates, routing them to handlers, the Bot
API client, long polling) without its own web server: in webhook mode our route feeds it updates
(``updater(None)``); in polling mode its ``Updater`` long-polls ``getUpdates`` inside our event
loop, for deployments with no public URL. Either way one server hosts every platform.

``setWebhook`` is never called from here: the public URL is the operator's to know (a proxy, a
tunnel, a path prefix), and calling it on every start would silently steal the bot from another
deployment using the same token. The README gives the one ``curl`` to run instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Literal

from aiohttp import web
from telegram import Bot, BotCommand, Update
from telegram.constants import BotCommandLimit
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.gateway import command_menu
from core.config import Settings
from integrations.telegram import webhook
from integrations.telegram.client import TelegramClient
from integrations.telegram.handlers import PLATFORM, install
from integrations.web import outbox
from integrations.web.app import SERVICES

log = logging.getLogger(__name__)
Mode = Literal["webhook", "polling"]
POLL_TIMEOUT = 30  # seconds a getUpdates long poll may wait for an update
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]  # all the handlers look at
MENU_LANGUAGES = {None: "en", "zh": "zh-CN"}  # Telegram language_code (None: everyone else) → our locale
_COMMAND_NAME = re.compile(rf"^[a-z0-9_]{{1,{BotCommandLimit.MAX_COMMAND}}}$")


def resolve_mode(settings: Settings) -> Mode:
    """``OMS_TELEGRAM_MODE`` if given; otherwise a webhook secret means webhook mode."""
    if settings.telegram_mode:
        return settings.telegram_mode
    return "webhook" if settings.telegram_webhook_secret else "polling"


def mount(app: web.Application) -> str | None:
    settings = app[SERVICES].settings
    if not settings.telegram_bot_token:
        return None
    mode = resolve_mode(settings)
    if mode == "webhook" and not settings.telegram_webhook_secret:
        log.error(
            "telegram adapter off: webhook mode needs OMS_TELEGRAM_WEBHOOK_SECRET "
            "(the secret_token given to setWebhook), or set OMS_TELEGRAM_MODE=polling"
        )
        return None
    application = build_application(settings, polling=mode == "polling")
    install(application, app)
    runtime = _Runtime(application, polling=mode == "polling")
    if mode == "webhook":
        assert settings.telegram_webhook_secret is not None
        route = webhook.handler(
            settings.telegram_webhook_secret, application.bot, runtime.accept, max_depth=settings.max_json_depth
        )
        app.router.add_post(webhook.PATH, route)
    outbox.register(app, TelegramClient(application.bot))
    app.cleanup_ctx.append(runtime.run)
    log.info("telegram adapter on (%s mode)", mode)
    return PLATFORM


def build_application(settings: Settings, *, polling: bool) -> Application:
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token or "")
        .base_url(settings.telegram_api_url)  # PTB appends the token: ".../bot<TOKEN>/<method>"
        .job_queue(None)  # business timers are the scheduler's job, not PTB's
    )
    if not polling:
        builder = builder.updater(None)
    return builder.build()


class _Runtime:
    """The PTB application's life on our server: started in the background, so an unreachable
    Telegram delays the adapter (retrying) instead of keeping the whole server from starting."""

    def __init__(self, application: Application, *, polling: bool) -> None:
        self.application, self.polling = application, polling
        self.ready = asyncio.Event()
        self.stopping = False

    def accept(self, update: Update) -> bool:
        """A verified webhook update, onto PTB's queue: one at a time and in order, as in polling
        mode, and whatever is queued is handled before shutdown. False until the bot is up."""
        if not self.ready.is_set() or self.stopping:
            return False
        self.application.update_queue.put_nowait(update)
        return True

    async def run(self, app: web.Application) -> AsyncIterator[None]:
        starting = asyncio.create_task(self._start_logged())
        try:
            yield
        finally:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            await self._stop()

    async def _start_logged(self) -> None:
        try:
            await self._start()
        except Exception:  # e.g. a revoked token (401): say so; the rest of the server runs on
            log.exception("telegram adapter failed to start; Telegram updates are not being taken")

    async def _start(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.application.initialize()  # getMe: also our @username, for group commands
                break
            except (TelegramError, OSError) as error:
                log.warning("telegram not reachable yet (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        await set_menus(self.application.bot)
        await self.application.start()  # the update queue's consumer, in webhook mode too
        if self.polling:
            assert self.application.updater is not None
            # start_polling calls deleteWebhook first (getUpdates is refused while a webhook is set),
            # retrying it forever with bootstrap_retries=-1.
            await self.application.updater.start_polling(
                timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1
            )
        self.ready.set()
        log.info("telegram bot @%s ready (%s)", self.application.bot.username, "polling" if self.polling else "webhook")

    async def _stop(self) -> None:
        self.stopping = True  # new webhook deliveries get 503: Telegram keeps them for later
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()  # handles what is already queued first
        await self.application.shutdown()


async def set_menus(bot: Bot) -> None:
    """The "/" menu in English for everyone and in Chinese for Chinese clients. Cosmetic: a
    failure is logged and the adapter still runs."""
    for language_code, locale in MENU_LANGUAGES.items():
        commands = menu_commands(locale)
        try:
            await bot.set_my_commands(commands, language_code=language_code)
        except TelegramError as error:
            log.warning("telegram setMyCommands (%s) failed: %s", language_code or "default", error)


def menu_commands(locale: str) -> list[BotCommand]:
    """Telegram's rules: names ``[a-z0-9_]{1,32}``, descriptions 1–256 characters, at most 100."""
    commands = []
    for name, description in command_menu(locale):
        if not _COMMAND_NAME.match(name):
            log.warning("telegram menu: skipping /%s, not a valid Telegram command name", name)
            continue
        text = " ".join(description.split()) or name
        if len(text) > BotCommandLimit.MAX_DESCRIPTION:
            text = text[: BotCommandLimit.MAX_DESCRIPTION - 1] + "…"
        commands.append(BotCommand(name, text))
    return commands[: BotCommandLimit.MAX_COMMAND_NUMBER]
