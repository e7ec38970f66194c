"""Commands: English and Chinese names, one registry, ``/help`` filtered by what the reader may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.i18n import N_, Translator
from bot.views import Reply
from core.auth import Actor, Permission
from core.errors import InvalidInput
from core.services import Services

Handler = Callable[["Chat", list[str]], Awaitable[list[Reply]]]


class Usage(str):
    """A command's usage line (English, marked with ``N_`` where the command is declared)."""


class WrongUsage(InvalidInput):
    """A command typed wrong: how to type it instead."""

    code = "usage"
    template = N_("Usage: {usage}")
    usage: Usage


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

    def usage(self) -> WrongUsage:
        """The refusal for a command typed wrong: how to type it instead (its declared usage)."""
        return WrongUsage(usage=Usage(self.command_usage))


@dataclass(frozen=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    usage: str  # English, marked with N_(); translated in /help and in a refusal
    permission: Permission | tuple[Permission, ...] | None  # any one of them will do
    handler: Handler
    summary: str = ""  # English one-liner for command menus (Telegram); translated there
    # Changes nothing, whatever its arguments (its handler calls no ``run``): answered before the
    # turn takes the write lock (``bot.gateway``).
    reads_only: bool = False

    @property
    def permissions(self) -> tuple[Permission, ...]:
        if self.permission is None:
            return ()
        return self.permission if isinstance(self.permission, tuple) else (self.permission,)

    def allowed(self, actor: Actor) -> bool:
        return not self.permissions or any(actor.can(p) for p in self.permissions)

    def require(self, actor: Actor) -> None:
        """Refuse, naming the permission the command needs (or the ones any of which would do)."""
        if self.permissions:
            actor.require_any(self.permissions)


COMMANDS: dict[str, Command] = {}
_ORDER: list[Command] = []


def command(
    name: str,
    *aliases: str,
    usage: str,
    permission: Permission | tuple[Permission, ...] | None = None,
    summary: str = "",
    reads_only: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        entry = Command(name, aliases, usage, permission, handler, summary, reads_only)
        keys = [key.lower() for key in (name, *aliases)]
        taken = [key for key in keys if key in COMMANDS]
        if taken:  # a second command under the same name would hide the first one
            raise ValueError(f"/{taken[0]} is declared twice")
        _ORDER.append(entry)
        for key in keys:
            COMMANDS[key] = entry
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
