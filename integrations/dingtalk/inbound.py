"""DingTalk's robot messages and card taps turned into the chat layer's ``Inbound`` — the same for
Stream frames and HTTP callbacks, which carry the same JSON."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.gateway import Answer, Inbound, message, tap

log = logging.getLogger(__name__)
PLATFORM = "dingtalk"
_ACTION = re.compile(r"^[a-z]{2}:\d+:\d+$")  # bot/actions.py: verb:card:version


def robot_message(data: dict[str, Any]) -> tuple[Inbound, str] | None:
    """(who and where, command text) for a text message to the robot; None for anything else."""
    user = data.get("senderStaffId")
    content = (data.get("text") or {}).get("content") if isinstance(data.get("text"), dict) else None
    if data.get("msgtype") != "text" or not user or not isinstance(content, str) or not content.strip():
        return None
    group = str(data.get("conversationType")) == "2"
    chat = str(data.get("conversationId", "")) if group else str(user)
    if not chat:
        return None
    text = content.strip()  # in groups DingTalk has already removed the @robot mention
    if text.startswith("／"):  # a Chinese keyboard's full-width slash
        text = "/" + text[1:]
    if not text.startswith("/"):
        text = "/" + text  # "查单 SO-1" is a command too
    msg_id = data.get("msgId")
    return Inbound(PLATFORM, str(user), chat, f"msg:{msg_id}" if msg_id else None), text


def _content(data: dict[str, Any]) -> dict[str, Any]:
    content = data.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return {}
    return content if isinstance(content, dict) else {}


def action_of(data: dict[str, Any]) -> str | None:
    """The neutral action id the tapped button carried in its callback params."""
    private = _content(data).get("cardPrivateData") or {}
    params = private.get("params") or {}
    candidates = [params.get("action"), *params.values(), *(private.get("actionIds") or [])]
    return next((str(c) for c in candidates if isinstance(c, str) and _ACTION.match(c)), None)


def card_tap(data: dict[str, Any]) -> tuple[Inbound, str] | None:
    """(who tapped, action id) for an interactive card's callback; None if it is not one of ours."""
    user, track = data.get("userId"), data.get("outTrackId")
    action = action_of(data)
    if not user or not track or action is None:
        return None
    return Inbound(PLATFORM, str(user), str(user), f"tap:{track}:{user}:{action}"), action


async def handle_message(services: Any, data: dict[str, Any]) -> Answer | None:
    parsed = robot_message(data)
    if parsed is None:
        log.info("dingtalk: ignored a robot message of type %r", data.get("msgtype"))
        return None
    inbound, text = parsed
    return await message(services, inbound, text)


async def handle_tap(services: Any, data: dict[str, Any]) -> Answer | None:
    parsed = card_tap(data)
    if parsed is None:
        log.info("dingtalk: ignored a card callback without an action (outTrackId %r)", data.get("outTrackId"))
        return None
    inbound, action = parsed
    # A card callback has no toast of its own, so the tapper's answer ("Approved SO-1" or who was
    # first) comes as a robot message; the card itself is updated for everyone through the outbox.
    return await tap(services, inbound, action, queue_replies=True)
