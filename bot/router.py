"""Commands: English and Chinese names, one registry, ``/help`` filtered by what the reader may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.i18n import Translator
from bot.views import Reply
from core.auth import Actor, Permission
from core.errors import InvalidInput
from core.services import Services

Handler = Callable[["Chat", list[str]], Awaitable[list[Reply]]]


@dataclass
class Chat:
    """One incoming command: who, in which language, through which platform."""

    services: Services
    actor: Actor
    user_id: int
    platform: str
    locale: str
    command_usage: str = ""  # the running command's usage line, for refusing a mistyped call
    _: Translator = field(init=False)

    def __post_init__(self) -> None:
        self._ = Translator(self.locale)

    def say(self, message: str, /, **params: object) -> list[Reply]:
        return [Reply(text=self._(message, **params))]

    def usage(self) -> InvalidInput:
        """The refusal for a command typed wrong: how to type it instead (its declared usage)."""
        return InvalidInput(self._("Usage: {usage}", usage=self.command_usage), field="args", reason=self.command_usage)


@dataclass(frozen=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    usage: str  # English; translated in /help
    permission: Permission | tuple[Permission, ...] | None  # any one of them will do
    handler: Handler
    summary: str = ""  # English one-liner for command menus (Telegram); translated there

    def allowed(self, actor: Actor) -> bool:
        if self.permission is None:
            return True
        wanted = self.permission if isinstance(self.permission, tuple) else (self.permission,)
        return any(actor.can(p) for p in wanted)


COMMANDS: dict[str, Command] = {}
_ORDER: list[Command] = []


def command(
    name: str,
    *aliases: str,
    usage: str,
    permission: Permission | tuple[Permission, ...] | None = None,
    summary: str = "",
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        entry = Command(name, aliases, usage, permission, handler, summary)
        _ORDER.append(entry)
        for key in (name, *aliases):
            COMMANDS[key.lower()] = entry
        return handler

    return register


def split(text: str) -> tuple[str, list[str]] | None:
    """``/order SO-1`` → (``order``, [``SO-1``]); full-width slash and ``@bot`` suffixes accepted."""
    text = text.strip().replace("／", "/")
    if not text.startswith("/"):
        return None
    head, *args = text[1:].split()
    return head.split("@", 1)[0].lower(), args


def visible_commands(actor: Actor) -> list[Command]:
    return [c for c in _ORDER if c.allowed(actor)]
