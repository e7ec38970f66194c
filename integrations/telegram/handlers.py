"""PTB handlers: one Telegram update → one gateway call.

A MessageHandler on text rather than CommandHandlers: PTB only recognises ASCII command names,
and "/查单 SO-1" must reach the chat layer just like "/order SO-1". Taps come as callback
queries; each is answered (the client's spinner stops) with the chat layer's first reply as a
toast, while the card's new rendering reaches every copy through the outbox.
"""

from __future__ import annotations

import logging

from aiohttp import web
from telegram import Update
from telegram.constants import CallbackQueryLimit, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

import bot.gateway as gateway
from integrations.web.app import SERVICES
from integrations.web.outbox import wake

log = logging.getLogger(__name__)
PLATFORM = "telegram"
MAX_TOAST = CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH  # 200 characters
COMMAND_STARTS = ("/", "／")  # the chat layer accepts a full-width slash too


def install(application: Application, app: web.Application) -> None:
    """Route text messages and taps of ``application`` into the gateway of the server ``app``."""
    handlers = _Handlers(app)
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, handlers.text))
    application.add_handler(CallbackQueryHandler(handlers.tap))
    application.add_error_handler(handlers.error)


def addressed_to_us(text: str, chat_type: str, username: str | None) -> bool:
    """In a group only commands count, and not ones meant for another bot ("/order@OtherBot").

    A bot that can read all group messages (privacy mode off) would otherwise answer every remark
    with "commands start with /"."""
    if chat_type == ChatType.PRIVATE:
        return True
    words = text.strip().split(maxsplit=1)
    if not words or not words[0].startswith(COMMAND_STARTS):
        return False
    _, at, suffix = words[0].partition("@")
    return not at or (username is not None and suffix.lower() == username.lower())


class _Handlers:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None or message.from_user is None or message.from_user.is_bot:
            return
        if not addressed_to_us(message.text, message.chat.type, context.bot.username):
            return
        inbound = gateway.Inbound(PLATFORM, str(message.from_user.id), str(message.chat.id), f"upd:{update.update_id}")
        answer = await gateway.message(self.app[SERVICES], inbound, message.text)
        if not answer.duplicate:
            wake(self.app)

    async def tap(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        toast: str | None = None
        try:
            if query.data:
                chat = query.message.chat.id if query.message is not None else query.from_user.id
                # One tap is one callback query id, the same in every re-delivery of its update.
                inbound = gateway.Inbound(PLATFORM, str(query.from_user.id), str(chat), f"tap:{query.id}")
                answer = await gateway.tap(self.app[SERVICES], inbound, query.data)
                if not answer.duplicate:
                    wake(self.app)
                toast = answer.texts[0][:MAX_TOAST] if answer.texts else None
        finally:  # always stop the tapper's spinner, even when the tap itself failed
            try:
                await query.answer(text=toast, show_alert=False)
            except TelegramError as error:  # e.g. "query is too old" on a late re-delivery
                log.warning("answerCallbackQuery %s failed: %s", query.id, error)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)
