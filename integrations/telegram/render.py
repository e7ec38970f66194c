"""Neutral outbox payloads → a Telegram message: HTML text plus an inline keyboard.

HTML rather than MarkdownV2 because it needs escaping of three characters only, and a customer
name or note with ``<``, ``&`` or ``_`` in it must never make Telegram refuse the whole message
("can't parse entities"). A closed card gets an empty keyboard, which is how an edit removes the
buttons from every copy.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit, ParseMode

PARSE_MODE = ParseMode.HTML
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted after entities are parsed
MAX_CALLBACK_DATA = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64 bytes of UTF-8
STYLES = {"primary": "primary", "danger": "danger"}  # neutral → Bot API button style; others: app default
_CODE = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Rendered:
    text: str  # HTML
    keyboard: InlineKeyboardMarkup


def render(payload: dict[str, Any]) -> Rendered:
    """The message for an outbox payload: ``{"text": ...}`` or ``{"card": ...}``."""
    if "card" in payload:
        return render_card(payload["card"])
    return Rendered(text=render_text(str(payload.get("text") or "")), keyboard=InlineKeyboardMarkup(()))


def render_text(text: str) -> str:
    """Plain chat text, with the chat layer's `backticks` shown as code."""
    text = _fit(text)
    return "".join(
        f"<code>{html.escape(part)}</code>" if i % 2 else html.escape(part) for i, part in enumerate(_CODE.split(text))
    )


def render_card(card: dict[str, Any]) -> Rendered:
    lines = [f"<b>{html.escape(card['title'])}</b>"]
    lines += [f"{html.escape(f['label'])}: {html.escape(str(f['value']))}" for f in card.get("fields", [])]
    notes = card.get("notes") or []
    if notes:
        lines.append("")
        lines += [f"<i>{html.escape(note)}</i>" for note in notes]
    if card.get("outcome"):
        lines += ["", f"<b>{html.escape(card['outcome'])}</b>"]
    text = "\n".join(lines)
    if len(text) > MAX_TEXT:  # absurdly long fields: keep the title and outcome legible, drop the rest
        text = f"<b>{html.escape(_fit(card['title']))}</b>" + (
            f"\n\n<b>{html.escape(card['outcome'])}</b>" if card.get("outcome") else ""
        )
    return Rendered(text=text, keyboard=keyboard(card.get("buttons") or []))


def keyboard(buttons: list[dict[str, Any]]) -> InlineKeyboardMarkup:
    """One row of buttons; ``callback_data`` is the action id itself, so a tap needs no lookup."""
    row = []
    for button in buttons:
        data = button["action"]
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
            raise ValueError(f"action id longer than Telegram's {MAX_CALLBACK_DATA} bytes: {data!r}")
        row.append(InlineKeyboardButton(button["label"], callback_data=data, style=STYLES.get(button.get("style", ""))))
    return InlineKeyboardMarkup([row] if row else [])


def _fit(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
