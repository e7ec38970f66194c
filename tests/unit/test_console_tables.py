"""The console page's hand-written tables agree with the server: its role names are the chat's
translations, and every chip runs a command that exists."""

from __future__ import annotations

import re
from pathlib import Path

import bot.conversation  # noqa: F401  (the commands are declared)
from bot.i18n import Translator
from bot.labels import ROLES
from bot.router import COMMANDS
from core.auth import Role

SCRIPT = (Path(__file__).resolve().parents[2] / "integrations/console/static/console.js").read_text(encoding="utf-8")


def block(name: str) -> str:
    """The text of ``const NAME = …;`` in the page's script (up to its closing line)."""
    match = re.search(rf"\n  const {name} = .*?\n  [}}\]];\n", SCRIPT, re.S)
    assert match, name
    return match.group(0)


def test_role_names_are_the_chat_translations() -> None:
    written = dict(re.findall(r"(\w+): \"([^\"]+)\"", block("ROLE_NAMES")))
    _ = Translator("zh-CN")
    assert written == {role.value: _(ROLES[role.value]) for role in Role}


def test_every_chip_runs_a_command() -> None:
    chips = re.findall(r"command: \"(\w+)\"", block("CHIPS"))
    assert chips and [c for c in chips if c not in COMMANDS] == []
