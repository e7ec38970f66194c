"""A person's own settings, changed the same way from any platform (``/lang``, the console's toggle)."""

from __future__ import annotations

from core.context import Context
from core.errors import N_, InvalidInput, UserNotFound
from core.users.models import User

LOCALES = ("en", "zh-CN")


class UnknownLocale(InvalidInput):
    code = "unknown_locale"
    template = N_("The language must be en or zh-CN, not {locale}.")
    locale: str


async def set_locale(ctx: Context, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise UnknownLocale(locale=locale)
    user = await ctx.session.get(User, user_id)
    if user is None:
        raise UserNotFound(user=str(user_id))
    user.locale = locale
