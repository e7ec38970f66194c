"""The places that list the chat platforms (and the README's command table) agree, so a platform or a
command added in one place cannot be missing from another."""

from __future__ import annotations

import re
from pathlib import Path

import bot.conversation  # noqa: F401  (the commands are declared)
from bot.i18n import DEFAULT_BY_PLATFORM
from bot.router import COMMANDS
from core.config import Settings
from core.masterdata.schema import PLATFORMS

ROOT = Path(__file__).resolve().parents[2]
CHAT_PLATFORMS = set(PLATFORMS) - {"console"}


def test_every_platform_has_a_default_language() -> None:
    assert set(DEFAULT_BY_PLATFORM) == set(PLATFORMS)


def test_every_chat_platform_has_an_adapter_package() -> None:
    assert {path.parent.name for path in (ROOT / "integrations").glob("*/adapter.py")} == CHAT_PLATFORMS


def test_the_digest_can_go_to_every_chat_platform() -> None:
    pattern = next(m.pattern for m in Settings.model_fields["digest_chat"].metadata if hasattr(m, "pattern"))
    assert set(re.match(r"\^\((.*?)\)", pattern).group(1).split("|")) == CHAT_PLATFORMS


def test_the_readme_names_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = {command.name for command in COMMANDS.values()}
    assert sorted(name for name in names if f"`/{name}" not in readme) == []
