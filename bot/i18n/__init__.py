"""Translations: English source strings as message ids, a gettext catalog per language.

Catalogs are ordinary ``.po`` files (``bot/locales/<lang>/LC_MESSAGES/messages.po``) read with
Babel, so translators use the usual tools and nobody compiles ``.mo`` files at install time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_BY_PLATFORM = {"dingtalk": "zh-CN", "wecom": "zh-CN", "slack": "en", "telegram": "en", "console": "en"}


def _catalog_dir(locale: str) -> str:
    return locale.replace("-", "_")


@cache
def _catalog(locale: str) -> dict[str, str]:
    path = LOCALES_DIR / _catalog_dir(locale) / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=_catalog_dir(locale))
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def normalise(locale: str | None) -> str:
    if not locale:
        return "en"
    return "zh-CN" if locale.lower().replace("_", "-").startswith("zh") else "en"


def translate(locale: str | None, message: str, /, **params: Any) -> str:
    """The message in ``locale`` with ``{name}`` placeholders filled; English when untranslated."""
    text = _catalog(normalise(locale)).get(message, message) if normalise(locale) != "en" else message
    return text.format(**params) if params else text


class Translator:
    """``_("Order {order_no} is {status}", order_no=...)`` for one reader."""

    def __init__(self, locale: str | None) -> None:
        self.locale = normalise(locale)

    def __call__(self, message: str, /, **params: Any) -> str:
        return translate(self.locale, message, **params)


def N_(message: str) -> str:
    """Marks a string for extraction where it is translated later (tables of labels)."""
    return message
