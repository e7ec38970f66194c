"""A person's own settings, changed the same way from any platform (``/lang``, the console's toggle)."""

from __future__ import annotations

from core.context import Context
from core.errors import InvalidInput, NotFound
from core.users.models import User

LOCALES = ("en", "zh-CN")


async def set_locale(ctx: Context, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidInput(field="locale", reason="must be en or zh-CN")
    user = await ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(kind="User", key=str(user_id))
    user.locale = locale
