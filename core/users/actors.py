"""Turning a chat identity or user name into the ``Actor`` the services check."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth import Actor, Role
from core.errors import UserNotFound
from core.users.models import User


def actor_for(user: User, source: str) -> Actor:
    return Actor(
        name=user.name,
        roles=frozenset(Role(r) for r in user.roles),
        source=source,
        user_id=user.id,
        warehouses=frozenset(user.warehouses or ()),
        customer_id=user.customer_id,
    )


async def actor_by_name(session: AsyncSession, name: str, source: str) -> Actor:
    user = (await session.scalars(select(User).where(User.name == name, User.active.is_(True)))).one_or_none()
    if user is None:
        raise UserNotFound(user=name)
    return actor_for(user, source)
