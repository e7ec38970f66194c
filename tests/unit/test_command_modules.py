"""Every module under ``bot/handlers`` that declares commands is listed in ``bot.handlers.MODULES``."""

import importlib
import pkgutil

import pytest

import bot.handlers
from bot.router import COMMANDS, Chat, command


def _modules_declaring_commands() -> set[str]:
    for info in pkgutil.iter_modules(bot.handlers.__path__):
        importlib.import_module(f"{bot.handlers.__name__}.{info.name}")
    return {c.handler.__module__ for c in COMMANDS.values() if c.handler.__module__.startswith("bot.handlers.")}


def test_every_handler_module_with_commands_is_listed() -> None:
    listed = {module.__name__ for module in bot.handlers.MODULES}
    assert _modules_declaring_commands() <= listed


def test_every_listed_module_declares_a_command() -> None:
    declaring = _modules_declaring_commands()
    assert [m.__name__ for m in bot.handlers.MODULES if m.__name__ not in declaring] == []


def test_a_name_declared_twice_is_refused() -> None:
    async def handler(chat: Chat, args: list[str]) -> list:
        return []

    with pytest.raises(ValueError, match="/help is declared twice"):
        command("help", usage="/help")(handler)
    assert COMMANDS["help"].handler is not handler
