"""Outbox payloads as Slack messages: plain text, or a neutral card as Block Kit.

Slack treats ``&``, ``<`` and ``>`` in message text as markup (mentions, links), so every text
we did not write ourselves is escaped. The top-level ``text`` is always set: it is what
notifications, screen readers and old clients show instead of the blocks. Limits are Slack's
(header 150 characters, 10 fields per section, button text 75): longer content is cut, never
refused, because a refused card would be dead-lettered and the approver would see nothing.
"""

from __future__ import annotations

from typing import Any

HEADER_MAX = 150
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
CONTEXT_TEXT_MAX = 3000  # a text object's limit
BUTTON_TEXT_MAX = 75
TEXT_MAX = 39_000  # Slack truncates message text at 40,000 characters
STYLES = ("primary", "danger")  # Slack's only button styles; "default" means none


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def message(payload: dict[str, Any]) -> dict[str, Any]:
    """The ``text``/``blocks`` arguments for ``chat.postMessage`` or ``chat.update``."""
    if payload.get("card"):
        return card(payload["card"])
    return {"text": _cut(escape(payload.get("text") or ""), TEXT_MAX)}


def caption(text: str) -> str:
    """An attachment's caption as the ``initial_comment`` of its file share (mrkdwn, escaped)."""
    return _cut(escape(text), TEXT_MAX)


def card(view: dict[str, Any]) -> dict[str, Any]:
    title = view.get("title") or ""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(title, HEADER_MAX)}]
    fields = [
        _mrkdwn(_cut(f"*{escape(f['label'])}*\n{escape(str(f['value']))}", FIELD_MAX)) for f in view.get("fields", [])
    ]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
    notes = view.get("notes") or []
    if notes:
        # One element for all of them: a context block takes only 10, and a pick card's last note
        # ("Picked by … at …") comes after one note per order line.
        text = "\n".join(escape(n) for n in notes)
        blocks.append({"type": "context", "elements": [_mrkdwn(_cut(text, CONTEXT_TEXT_MAX))]})
    outcome = view.get("outcome")
    if outcome:
        blocks.append({"type": "section", "text": _mrkdwn(_cut(f"*{escape(outcome)}*", FIELD_MAX))})
    buttons = view.get("buttons") or []
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"card:{view.get('card_id')}:{view.get('version')}",
                "elements": [_button(b, title) for b in buttons],
            }
        )
    fallback = f"{title} — {outcome}" if outcome else title
    return {"text": _cut(escape(fallback), TEXT_MAX), "blocks": blocks}


def _button(button: dict[str, Any], title: str) -> dict[str, Any]:
    """The action string is both ``action_id`` (unique within the message, as Slack requires) and
    ``value``. A destructive button asks first; the dialog reuses the card's own translated words."""
    element: dict[str, Any] = {
        "type": "button",
        "action_id": button["action"],
        "value": button["action"],
        "text": _plain(button["label"], BUTTON_TEXT_MAX),
    }
    style = button.get("style")
    if style in STYLES:
        element["style"] = style
    if button.get("confirm"):
        question = button["confirm"]
        element["confirm"] = {
            "title": _plain(question["title"], 100),
            "text": _plain(question["text"], 300),
            "confirm": _plain(question["yes"], 30),
            "deny": _plain(question["no"], 30),
            "style": "danger" if style == "danger" else "primary",
        }
    return element
