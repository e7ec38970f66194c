"""The outbox's sender for Telegram: PTB's ``Bot`` plus the mapping of its errors onto the
dispatcher's three answers (slow down, try again, never).

Telegram has no idempotency key for ``sendMessage``, so ``dedupe_key`` cannot be passed on; the
dispatcher's lease and per-recipient ordering are what keep a message from going out twice.

Images go with ``sendPhoto`` and files with ``sendDocument``, uploaded as multipart/form-data,
the caption in the same message (HTML, at most 1,024 characters; a longer one goes first as its
own message). An image Telegram would not take as a photo (over 10 MB, or a shape it refuses) is
sent as a document instead, which also keeps it uncompressed; over 50 MB nothing can go.
"""

from __future__ import annotations

import datetime as dtm
import logging
import warnings
from typing import Any

from telegram import Bot, InputFile
from telegram.constants import FileSizeLimit, MessageLimit
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.outbox.clients import Attachment, DeliveryError, Rejected, Throttled
from integrations.telegram.render import PARSE_MODE, Rendered, render, render_text

log = logging.getLogger(__name__)
NOT_MODIFIED = "message is not modified"  # editing to identical content: the copy is already right
# sendPhoto refusals that mean "not as a photo" (the shape or the encoding): sent as a document instead
NOT_A_PHOTO = ("photo_invalid_dimensions", "image_process_failed", "photo_save_file_invalid", "photo_ext_invalid")
REMEMBERED = 1000


class TelegramClient:
    """``PlatformClient`` for Telegram; recipients are chat ids (negative for groups)."""

    platform = "telegram"
    per_second = 25.0  # the Bot FAQ's bulk limit is "about 30 a second"; keep some room
    per_chat_per_minute = 60.0  # "about one a second" in a private chat

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._captions_sent: dict[str, None] = {}  # dedupe keys whose long caption went already

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

    async def send_attachment(
        self, recipient: str, attachment: Attachment, payload: dict[str, Any], dedupe_key: str
    ) -> str:
        if len(attachment.data) > FileSizeLimit.FILESIZE_UPLOAD:
            raise Rejected(f"{attachment.filename} is larger than the 50 MB a Telegram bot may send")
        chat_id, text = _chat_id(recipient), str(payload.get("text") or "")
        caption = render_text(text) if text else None
        if text and len(text) > MessageLimit.CAPTION_LENGTH:  # too long for a caption: said first
            if dedupe_key not in self._captions_sent:
                await self.send(recipient, {"text": text, "locale": payload.get("locale")}, dedupe_key)
                self._remember(dedupe_key)
            caption = None
        as_photo = attachment.kind == "image" and len(attachment.data) <= FileSizeLimit.PHOTOSIZE_UPLOAD
        try:
            if as_photo:
                try:
                    sent = await self.bot.send_photo(
                        chat_id=chat_id,
                        photo=InputFile(attachment.data, filename=attachment.filename),
                        caption=caption,
                        parse_mode=PARSE_MODE,
                    )
                    return str(sent.message_id)
                except BadRequest as error:
                    if not any(reason in error.message.lower() for reason in NOT_A_PHOTO):
                        raise
                    log.info("telegram took %s not as a photo (%s); sending it as a document", recipient, error)
            sent = await self.bot.send_document(
                chat_id=chat_id,
                document=InputFile(attachment.data, filename=attachment.filename),
                caption=caption,
                parse_mode=PARSE_MODE,
            )
        except TelegramError as error:
            raise _translate(error, "sendPhoto" if as_photo else "sendDocument", recipient) from error
        return str(sent.message_id)

    def _remember(self, dedupe_key: str) -> None:
        self._captions_sent[dedupe_key] = None
        while len(self._captions_sent) > REMEMBERED:
            self._captions_sent.pop(next(iter(self._captions_sent)))

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
