"""Finding the people a message is for, and putting it on their timelines (in their language)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.i18n import DEFAULT_BY_PLATFORM, Translator
from bot.models import Card, ChatMessage, Direction
from core.context import Context
from core.users.models import User


async def users_with_role(ctx: Context, *roles: str) -> list[User]:
    users = await ctx.session.scalars(select(User).where(User.active.is_(True)).options(selectinload(User.identities)))
    return [u for u in users if set(u.roles) & set(roles)]


async def users_by_id(ctx: Context, ids: Iterable[int | None]) -> list[User]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return []
    return list(
        await ctx.session.scalars(
            select(User).where(User.id.in_(wanted), User.active.is_(True)).options(selectinload(User.identities))
        )
    )


async def customer_users(ctx: Context, customer_id: int) -> list[User]:
    return list(
        await ctx.session.scalars(
            select(User)
            .where(User.customer_id == customer_id, User.active.is_(True))
            .options(selectinload(User.identities))
        )
    )


def locale_for(user: User, platform: str) -> str:
    return user.locale or DEFAULT_BY_PLATFORM.get(platform, "en")


def tell(
    ctx: Context,
    users: Iterable[User],
    message: str,
    *,
    card: Card | None = None,
    skip: int | None = None,
    **params: Any,
) -> None:
    """Put a message (translated per reader and platform) or a card on each user's timelines."""
    for user in {u.id: u for u in users}.values():
        if user.id == skip:
            continue
        for identity in user.identities:
            text = Translator(locale_for(user, identity.platform))(message, **params) if message else None
            ctx.session.add(
                ChatMessage(
                    user_id=user.id,
                    platform=identity.platform,
                    direction=Direction.OUT,
                    text=text,
                    card_id=card.id if card else None,
                    created_at=ctx.now(),
                )
            )


async def approvers(ctx: Context, target: dict[str, str]) -> list[User]:
    """The role's members, or the one named user (a workflow rule's ``approve:``)."""
    if "user" in target:
        return list(
            await ctx.session.scalars(
                select(User)
                .where(User.name == target["user"], User.active.is_(True))
                .options(selectinload(User.identities))
            )
        )
    return await users_with_role(ctx, target["role"])
