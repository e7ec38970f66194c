"""The outbox's sender for Telegram: PTB's ``Bot`` plus the mapping of its errors onto the
dispatcher's three answers (slow down, try again, never).

Telegram has no idempotency key for ``sendMessage``, so ``dedupe_key`` cannot be passed on; the
dispatcher's lease and per-recipient ordering are what keep a message from going out twice.
"""

from __future__ import annotations

import datetime as dtm
import logging
import warnings
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.outbox.clients import DeliveryError, Rejected, Throttled
from integrations.telegram.render import PARSE_MODE, Rendered, render

log = logging.getLogger(__name__)
NOT_MODIFIED = "message is not modified"  # editing to identical content: the copy is already right


class TelegramClient:
    """``PlatformClient`` for Telegram; recipients are chat ids (negative for groups)."""

    platform = "telegram"
    per_second = 25.0  # the Bot FAQ's bulk limit is "about 30 a second"; keep some room
    per_chat_per_minute = 60.0  # "about one a second" in a private chat

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def chat_per_minute(self, recipient: str) -> float:
        """Groups allow 20 messages a minute; group and supergroup chat ids are negative."""
        return 20.0 if recipient.startswith("-") else self.per_chat_per_minute

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        message = _render(payload)
        try:
            sent = await self.bot.send_message(
                chat_id=_chat_id(recipient),
                text=message.text,
                parse_mode=PARSE_MODE,
                reply_markup=message.keyboard if message.keyboard.inline_keyboard else None,
            )
        except TelegramError as error:
            raise _translate(error, "sendMessage", recipient) from error
        return str(sent.message_id)

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        message = _render(payload)
        try:
            await self.bot.edit_message_text(
                chat_id=_chat_id(recipient),
                message_id=int(message_id),
                text=message.text,
                parse_mode=PARSE_MODE,
                reply_markup=message.keyboard,  # an empty keyboard takes the buttons away
            )
        except BadRequest as error:
            if NOT_MODIFIED in error.message.lower():
                return  # this copy already shows it (a repeated edit, or two edits racing)
            raise _translate(error, "editMessageText", recipient) from error
        except TelegramError as error:
            raise _translate(error, "editMessageText", recipient) from error

    async def close(self) -> None:
        """The bot's HTTP pool belongs to the PTB Application; the adapter shuts that down."""


def _render(payload: dict[str, Any]) -> Rendered:
    try:
        return render(payload)
    except (KeyError, TypeError, ValueError) as error:
        raise Rejected(f"cannot render this payload for Telegram: {error}") from error


def _chat_id(recipient: str) -> int | str:
    try:
        return int(recipient)
    except ValueError:
        return recipient  # "@channelusername" is a valid chat_id too


def _translate(error: TelegramError, method: str, recipient: str) -> Exception:
    """Telegram's answer → what the dispatcher does next: wait, retry with backoff, or give up."""
    where = f"{method} to {recipient}: {error.message}"
    if isinstance(error, RetryAfter):
        return Throttled(_seconds(error), chat_only=True)  # Telegram's floods are mostly per chat
    if isinstance(error, ChatMigrated):  # a group became a supergroup; its old id takes nothing any more
        return Rejected(f"{where} (the chat is now {error.new_chat_id})")
    if isinstance(error, (BadRequest, Forbidden)):  # bad message, chat not found, bot blocked or kicked
        return Rejected(where)
    return DeliveryError(where)  # timeouts, network trouble, 5xx, a token being fixed (401)


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form is deprecated; accept both forms
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
