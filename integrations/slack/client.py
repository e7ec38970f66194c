"""Sends the outbox to Slack with ``chat.postMessage`` and edits cards with ``chat.update``.

Rates: ``chat.postMessage`` allows about one message per second per channel, with short bursts
and a workspace-wide cap Slack does not publish ("several hundred a minute"). Sixty a minute per
chat is that per-channel pace; five a second overall stays well inside the workspace cap while
letting a notification burst to a handful of approvers go out at once. Slack's own 429 (with
``Retry-After``) is obeyed whenever these guesses are wrong.

A user id (U…/W…) as recipient makes ``chat.postMessage`` open the bot's direct chat with that
person; the answer names that chat (D…), and only that name works for ``chat.update``, so the
message id we hand back is ``CHANNEL:TS``.

Images and files go through the SDK's ``files_upload_v2``: ``files.getUploadURLExternal`` (name
and length), the bytes POSTed to the URL it returns, then ``files.completeUploadExternal`` sharing
the file into the chat with the caption as ``initial_comment``. That last call takes channel ids
only (C…/D…/G…), so a user id is first turned into the bot's direct chat with
``conversations.open``. The share completes asynchronously and its message ts is not in the
answer, so the message id is ``CHANNEL:file:F…`` (never edited). Needs the ``files:write`` scope
(and ``im:write`` for direct chats).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.clients import Attachment, DeliveryError, Rejected, Throttled
from integrations.slack.render import caption as as_caption
from integrations.slack.render import message

PLATFORM = "slack"
ALT_TEXT_MAX = 1000  # files.getUploadURLExternal refuses a longer alt_txt (alt_txt_too_large)
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class SlackClient:
    platform = PLATFORM
    per_second = 5.0
    per_chat_per_minute = 60.0

    def __init__(self, web: AsyncWebClient) -> None:
        self.web = web
        self._direct: dict[str, str] = {}  # user id -> the bot's direct chat with them (D…)

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        answer = await _call(
            self.web.chat_postMessage(channel=recipient, unfurl_links=False, unfurl_media=False, **_render(payload))
        )
        return f"{answer['channel']}:{answer['ts']}"

    async def send_attachment(
        self, recipient: str, attachment: Attachment, payload: dict[str, Any], dedupe_key: str
    ) -> str:
        channel = await self._channel_of(recipient)
        caption = payload.get("text") or ""
        try:
            answer = await _call(
                self.web.files_upload_v2(
                    channel=channel,
                    file=attachment.data,
                    filename=attachment.filename,
                    title=attachment.filename,
                    initial_comment=as_caption(caption) if caption else None,
                    alt_txt=caption[:ALT_TEXT_MAX] if attachment.kind == "image" and caption else None,
                )
            )
        except SlackRequestError as error:  # the upload URL refused the bytes: try again later
            raise DeliveryError(f"slack upload: {error}") from error
        return f"{channel}:file:{(answer.get('file') or {}).get('id', '')}"

    async def _channel_of(self, recipient: str) -> str:
        """A channel id as it is; a user id as the bot's direct chat with them (cached)."""
        if recipient[:1] not in "UW":
            return recipient
        if recipient not in self._direct:
            answer = await _call(self.web.conversations_open(users=recipient))
            self._direct[recipient] = answer["channel"]["id"]
        return self._direct[recipient]

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        channel, _, ts = message_id.partition(":")
        if not channel or not ts:
            raise Rejected(f"not a Slack message id: {message_id!r}")
        await _call(self.web.chat_update(channel=channel, ts=ts, **_render(payload)))


def _render(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload we cannot render never will be: refused, so it cannot hold up the chat's queue."""
    try:
        return message(payload)
    except (KeyError, TypeError, ValueError) as error:
        raise Rejected(f"cannot render for Slack: {error!r}") from error


async def _call(request: Any) -> Any:
    """Slack's answers as the dispatcher's exceptions: 429 → Throttled, 5xx/network → DeliveryError,
    any other ``ok: false`` (channel_not_found, not_in_channel, invalid_auth, …) → Rejected."""
    try:
        return await request
    except SlackApiError as error:
        response = error.response
        status = getattr(response, "status_code", None) or getattr(response, "status", 0)
        headers = getattr(response, "headers", None) or {}
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if status == 429:
            raise Throttled(_seconds(headers.get("Retry-After"))) from error
        if status >= 500 or code in TRANSIENT:
            raise DeliveryError(f"slack {code or 'error'} (HTTP {status})") from error
        raise Rejected(f"slack {code or 'error'} (HTTP {status})") from error
    except (TimeoutError, aiohttp.ClientError) as error:
        raise DeliveryError(f"slack unreachable: {error!r}") from error


def _seconds(value: str | None) -> float:
    try:
        return max(float(value or 1), 0.0)
    except ValueError:
        return 1.0
