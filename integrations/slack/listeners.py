"""Slack's inbound kinds, as Bolt listeners that acknowledge at once and hand over to the gateway.

Bolt (``process_before_response=False``) answers Slack as soon as a listener calls ``ack()``; the
work then runs in our own task set (``Background``), which the server awaits or cancels on
shutdown, so Slack's 3-second deadline never depends on the database.

Delivery ids, unique across kinds: ``evt:`` + the Events API ``event_id`` (kept on Slack's
retries), ``cmd:`` + a slash command's ``trigger_id``, ``tap:`` + channel, message ts and
``action_ts`` of a button tap. Direct chats are addressed by the user id, the same recipient the
notifications use, so one person's direct chat is one ordered queue in the outbox.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.gateway import Inbound, message, tap
from integrations.slack.client import PLATFORM
from integrations.slack.render import escape
from integrations.slack.text import chat_message, slash_command
from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.web.background import Background

log = logging.getLogger(__name__)
ANY = re.compile(r".*")


@dataclass
class BotIdentity:
    """Who the bot is in the workspace (from ``auth.test`` at start-up), so Bolt ignores our own
    messages; empty until learned, and our listeners skip bot messages anyway."""

    bot_id: str | None = None
    bot_user_id: str | None = None


def build(
    app: web.Application, client: AsyncWebClient, signing_secret: str, background: Background, who: BotIdentity
) -> AsyncApp:
    """The Bolt app: signature check, url_verification and the listeners below.

    Bolt would call ``auth.test`` on the first request, before the listener could ack, which can
    cost Slack's whole 3 seconds (or the request, when Slack's API is slow to answer); our
    ``authorize`` answers from what the adapter learned at start-up instead, with no call at all.
    """

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=client.token,
            bot_id=who.bot_id,
            bot_user_id=who.bot_user_id,
        )

    requests = AsyncWebClient(base_url=client.base_url, timeout=client.timeout)  # per request: token from authorize
    bolt = AsyncApp(client=requests, signing_secret=signing_secret, authorize=authorize, process_before_response=False)

    async def say(inbound: Inbound, text: str) -> None:
        await message(app[SERVICES], inbound, text)
        outbox.wake(app)

    @bolt.command(ANY)
    async def on_command(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        # Answered in the person's direct chat with the bot, wherever they typed it: the bot may not
        # be in that channel (private ones, group DMs), and order details are not for the room.
        user = body["user_id"]
        inbound = Inbound(PLATFORM, user, user, f"cmd:{body['trigger_id']}")
        background.spawn(say(inbound, slash_command(body["command"], body.get("text", ""))))

    @bolt.event("message")
    async def on_message(ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        if event.get("subtype") or event.get("bot_id") or event.get("channel_type") != "im" or not event.get("user"):
            return  # edits, joins, bots (ourselves included) and channel chatter: not commands
        inbound = Inbound(PLATFORM, event["user"], event["user"], f"evt:{body['event_id']}")
        background.spawn(say(inbound, chat_message(event.get("text", ""))))

    @bolt.event("app_mention")
    async def on_mention(ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        inbound = Inbound(PLATFORM, event["user"], event["channel"], f"evt:{body['event_id']}")
        background.spawn(say(inbound, chat_message(event.get("text", ""))))

    @bolt.event(ANY)
    async def on_other_event(ack: Any) -> None:
        await ack()  # subscribed but not ours to act on; a 404 would make Slack retry it

    @bolt.action(ANY)
    async def on_tap(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        if body.get("type") != "block_actions" or not body.get("actions"):
            return
        background.spawn(_tap(app, client, body))

    return bolt


async def _tap(app: web.Application, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The card's new rendering reaches every copy through the outbox (``chat.update``); the tapper
    sees the outcome at once, privately, like a toast."""
    action = body["actions"][0]
    user = body["user"]["id"]
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or user
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
    event_id = f"tap:{channel}:{message_ts}:{action.get('action_ts', body.get('trigger_id', ''))}"
    inbound = Inbound(PLATFORM, user, channel, event_id)
    answer = await tap(app[SERVICES], inbound, action["action_id"])
    outbox.wake(app)
    if answer.duplicate or not answer.texts:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=escape("\n".join(answer.texts)))
    except Exception as error:  # the tap is done and the card edit queued; only the toast is lost
        log.warning("slack ephemeral to %s in %s failed: %s", user, channel, error)
