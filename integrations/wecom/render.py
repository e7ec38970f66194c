"""Outbox payloads as WeCom app messages: plain text, markdown, or a ``button_interaction`` card.

WeCom's card limits are display recommendations (documented as "建议不超过"), not all enforced by
the API, so we keep within them and cut at a character boundary rather than risk a rejected card:
title 36 characters, sub-title 160, quote 160, button text 10, at most 6 buttons. Field labels
are longer than ``horizontal_content_list``'s 5-character key names allow in English, so fields
go into the sub-title as "Label: value" lines and notes into the quote area. Task ids are unique
per copy (card id plus the outbox row's de-duplication key), because WeCom requires a task id
that is unique within the app for every card sent.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

TITLE_CHARS = 36
DESC_CHARS = 44
SUBTITLE_CHARS = 160
QUOTE_CHARS = 160
BUTTON_CHARS = 10
REPLACE_NAME_CHARS = 26  # the greyed-out button after a closed card; the real limit is unconfirmed
MAX_BUTTONS = 6
TEXT_BYTES = 2048  # text and markdown content limit
TASK_ID_BYTES = 128
STYLES = {"primary": 1, "danger": 2, "default": 3}
_MARKDOWN = re.compile(r"`[^`\n]+`|\*\*[^*\n]+\*\*|^#{1,6} |\[[^\]\n]+\]\([^)\s]+\)", re.M)
_TASK_UNSAFE = re.compile(r"[^0-9a-zA-Z_\-@]")


def message_body(payload: dict[str, Any], task_id: str | None = None) -> dict[str, Any]:
    """The ``msgtype`` part of a ``message/send`` request (touser and agentid are the client's)."""
    if "card" in payload:
        return {"msgtype": "template_card", "template_card": template_card(payload["card"], task_id or "")}
    text = clip_bytes(str(payload.get("text", "")), TEXT_BYTES)
    if _MARKDOWN.search(text):
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "text", "text": {"content": text}}


def card_text(card: dict[str, Any]) -> str:
    """A card as markdown, for where cards cannot go (app chats): fields, notes, outcome, and the
    command each button stands for, so it can still be acted on by typing."""
    lines = [f"**{card.get('title', '')}**"]
    lines += [f"{f['label']}: {f['value']}" for f in card.get("fields", [])]
    lines += [str(note) for note in card.get("notes", [])]
    if card.get("outcome"):
        lines.append(f"**{card['outcome']}**")
    lines += [f"{b['label']}: `{b['command']}`" for b in card.get("buttons", []) if b.get("command")]
    return "\n".join(lines)


def task_id(card_id: int, dedupe_key: str) -> str:
    """ASCII from WeCom's allowed set; a key too long to fit is hashed (cutting it could collide)."""
    task = f"oms-{card_id}-{_TASK_UNSAFE.sub('_', dedupe_key)}"
    if len(task) > TASK_ID_BYTES:
        task = f"oms-{card_id}-{hashlib.sha256(dedupe_key.encode()).hexdigest()}"
    return task


def card_of(task: str) -> int | None:
    """The card a task id was made for (``task_id``'s inverse), or None for a task not ours."""
    prefix, _, rest = task.partition("-")
    number = rest.partition("-")[0]
    return int(number) if prefix == "oms" and number.isdigit() else None


def template_card(card: dict[str, Any], task: str) -> dict[str, Any]:
    fields = [f"{f['label']}: {f['value']}" for f in card.get("fields", [])]
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": clip(card.get("title", ""), TITLE_CHARS)},
        "task_id": task,
        "button_list": buttons(card),
    }
    if card.get("outcome"):
        body["main_title"]["desc"] = clip(card["outcome"], DESC_CHARS)
    if fields:
        body["sub_title_text"] = clip("\n".join(fields), SUBTITLE_CHARS)
    if card.get("notes"):
        body["quote_area"] = {"type": 0, "quote_text": clip("\n".join(card["notes"]), QUOTE_CHARS)}
    return body


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"text": clip(b["label"], BUTTON_CHARS), "style": STYLES.get(b.get("style", "default"), 3), "key": b["action"]}
        for b in card.get("buttons", [])[:MAX_BUTTONS]
    ]


def update_body(card: dict[str, Any], task: str) -> dict[str, Any]:
    """What ``update_template_card`` needs besides the user list, agent id and response code.

    A card that still has buttons (a pick card moving to its next step) is replaced whole, under
    its original task id. A closed card has none, and a ``button_interaction`` card cannot be
    sent without them, so its buttons are greyed out and relabelled with the outcome instead.
    """
    if card.get("buttons"):
        return {"template_card": template_card(card, task)}
    return {"button": {"replace_name": clip(card.get("outcome") or card.get("state", ""), REPLACE_NAME_CHARS)}}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"
