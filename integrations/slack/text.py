"""What Slack users type, as the chat layer's commands.

One slash command (``/oms``) carries every OMS command in its text, because a Slack app has to
register each slash command by hand; commands registered under their own name (``/order``) work
too. In a direct message or a mention the leading ``/`` is optional: Slack's client would take a
typed ``/order`` for a slash command of its own.
"""

from __future__ import annotations

import re

from bot.gateway import command_menu

MENTION = re.compile(r"<[@!][^>]*>")  # <@U123>, <@U123|name>, <!here>
LABELLED_LINK = re.compile(r"<[^>|]+\|([^>]+)>")  # <https://…|label>, <mailto:…|label>
LINK = re.compile(r"<([^>]+)>")
OWN_COMMANDS = frozenset(name for name, _ in command_menu("en"))


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` as entities and links in angle brackets."""
    text = LINK.sub(r"\1", LABELLED_LINK.sub(r"\1", text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slash_command(command: str, text: str) -> str:
    """``/oms order SO-1`` → ``/order SO-1``; ``/oms`` or ``/oms help`` → ``/help``; ``/order SO-1`` as is."""
    name = command.lstrip("/").lower()
    args = unescape(text or "").strip()
    if name in OWN_COMMANDS:
        return f"/{name} {args}".strip()
    if not args or args.lower() == "help":
        return "/help"
    return args if args.startswith("/") else "/" + args


def chat_message(text: str) -> str:
    """A direct message or a mention: the mention goes, a missing leading ``/`` is added."""
    args = unescape(MENTION.sub(" ", text or "")).strip()
    if not args:
        return "/help"
    return args if args.startswith("/") else "/" + args
