"""The neutral card and reply model every adapter renders (DingTalk, WeCom, Slack, Telegram, console)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    label: str
    action: str  # compact action id, e.g. "ap:12:3" (verb, card, order version): Telegram allows 64 bytes
    style: str = "default"  # primary | danger | default
    # A question to ask before acting, for platforms with confirm dialogs (Slack):
    # {"title", "text", "yes", "no"}, already in the reader's language.
    confirm: dict[str, str] | None = None
    # The command that does the same when typed, for platforms (or setups) without buttons.
    command: str | None = None


@dataclass(frozen=True)
class CardView:
    card_id: int
    kind: str
    title: str
    fields: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    outcome: str | None = None
    state: str = "open"
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = [{"label": label, "value": value} for label, value in self.fields]
        return data


@dataclass(frozen=True)
class Attachment:
    """An image or a file to send into chat (a chart, a PDF); each platform sends it its own way."""

    filename: str
    media_type: str  # e.g. "image/png", "application/pdf"
    data: bytes
    kind: str = "file"  # "image" | "file"


@dataclass(frozen=True)
class Reply:
    """One thing the bot says back: text, or a card (by id; rendered per reader), or an attachment
    (an image or a file, with ``text`` as its caption)."""

    text: str | None = None
    card_id: int | None = None
    # Only for the person, never the group they asked in (a sign-in link): sent to their direct chat.
    private: bool = False
    attachment: Attachment | None = None
