"""The neutral card and text as DingTalk wants them: interactive-card variables or robot markdown.

An interactive card's template (designed once at card.dingtalk.com) declares the variables below;
DingTalk requires every value to be a string. Buttons carry the neutral action id in their
callback params (``{"action": "${btn1_action}"}``), so a tap needs no lookup on our side.

| variable | meaning |
| --- | --- |
| ``title`` | the card's title |
| ``body`` | markdown: one ``**label**: value`` line per field, then the notes |
| ``outcome`` | "" while open; e.g. "Approved by 王芳 at 14:03" once closed |
| ``state`` / ``closed`` | "open", "closed", ... / "true" or "false" (to grey out or hide) |
| ``card_id`` / ``version`` | the neutral card id and its version |
| ``btnN_label`` / ``btnN_action`` / ``btnN_style`` / ``btnN_visible`` | N = 1, 2; visible "true"/"false" |

Without a template the card goes out as robot markdown with each button spelled out as the
command that does the same thing, so it still works, only by typing.
"""

from __future__ import annotations

from typing import Any

from bot.outbox.clients import Attachment

BUTTONS = 2


def _body(card: dict[str, Any]) -> str:
    lines = [f"**{f['label']}**: {f['value']}" for f in card.get("fields", [])]
    lines += [str(note) for note in card.get("notes", [])]
    return "  \n".join(lines)


def card_params(card: dict[str, Any]) -> dict[str, str]:
    """The ``cardParamMap`` for a card's current rendering (shared by every viewer)."""
    params = {
        "title": str(card.get("title", "")),
        "body": _body(card),
        "outcome": str(card.get("outcome") or ""),
        "state": str(card.get("state", "")),
        "closed": "true" if card.get("outcome") else "false",
        "card_id": str(card.get("card_id", "")),
        "version": str(card.get("version", "")),
    }
    buttons = list(card.get("buttons") or [])[:BUTTONS]
    for n in range(1, BUTTONS + 1):
        button = buttons[n - 1] if n <= len(buttons) else None
        params[f"btn{n}_label"] = str(button["label"]) if button else ""
        params[f"btn{n}_action"] = str(button["action"]) if button else ""
        params[f"btn{n}_style"] = str(button.get("style", "default")) if button else ""
        params[f"btn{n}_visible"] = "true" if button else "false"
    return params


def card_markdown(card: dict[str, Any]) -> tuple[str, str]:
    """(title, markdown text) for a card sent as a plain robot message."""
    title = str(card.get("title", ""))
    parts = [f"#### {title}", _body(card)]
    if card.get("outcome"):
        parts.append(f"**{card['outcome']}**")
    for button in card.get("buttons") or []:
        if button.get("command"):  # no template, so no taps: the command that does the same
            parts.append(f"{button['label']}: `{button['command']}`")
    return title, "\n\n".join(p for p in parts if p)


def media_message(attachment: Attachment, media_id: str) -> tuple[str, dict[str, str]]:
    """(msgKey, msgParam) of the robot message showing an uploaded image or file."""
    if attachment.kind == "image":
        return "sampleImageMsg", {"photoURL": media_id}
    file_type = attachment.filename.rpartition(".")[2].lower() if "." in attachment.filename else "file"
    return "sampleFile", {"mediaId": media_id, "fileName": attachment.filename, "fileType": file_type}


def robot_message(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """(msgKey, msgParam) for a robot message carrying an outbox payload."""
    if "card" in payload:
        title, text = card_markdown(payload["card"])
        return "sampleMarkdown", {"title": title[:64] or "OMS", "text": text}
    text = str(payload.get("text", ""))
    if "`" in text or "**" in text:
        title = text.splitlines()[0][:64] if text else "OMS"
        return "sampleMarkdown", {"title": title, "text": text.replace("\n", "  \n")}
    return "sampleText", {"content": text}
