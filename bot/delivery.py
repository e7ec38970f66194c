"""Finding the people a message is for, and putting it on their timelines (in their language)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot import attachments
from bot.cards import render
from bot.i18n import DEFAULT_BY_PLATFORM, Translator
from bot.models import Card, ChatMessage, Direction
from bot.outbox.models import OutboxMessage, OutboxStatus
from bot.views import Attachment
from core.context import Context
from core.users.models import User

# Platforms that show a person's timeline itself (the console's page reads it): no outbox sender.
SHOWS_TIMELINE = frozenset({"console"})


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
    platforms: set[str] | None = None,
    attachment: Attachment | None = None,
    **params: Any,
) -> None:
    """Put a message (translated per reader and platform) or a card on each user's timelines.

    The console shows timelines directly; for every other platform the same transaction writes an
    outbox row, which the dispatcher sends (so nothing is sent for a change that rolled back).
    With ``attachment`` (an image or a file) the message is its caption; its bytes are stored once
    for everyone (``AttachmentTooLarge`` when over the size limit, before anything is written).
    """
    if card is not None and attachment is not None:
        raise ValueError("a message carries a card or an attachment, not both")
    stored = attachments.store(ctx, attachment) if attachment is not None else None
    for user in {u.id: u for u in users}.values():
        if user.id == skip:
            continue
        for identity in user.identities:
            if platforms is not None and identity.platform not in platforms:
                continue
            _ = Translator(locale_for(user, identity.platform))
            text = _(message, **params) if message else None
            ctx.session.add(
                ChatMessage(
                    user_id=user.id,
                    platform=identity.platform,
                    direction=Direction.OUT,
                    text=text,
                    card_id=card.id if card else None,
                    attachment=stored,
                    created_at=ctx.now(),
                )
            )
            if identity.platform not in SHOWS_TIMELINE:
                locale = locale_for(user, identity.platform)
                payload = {"card": render(card, _, ctx.settings.timezone).to_dict()} if card else {"text": text}
                payload["locale"] = locale
                enqueue(
                    ctx,
                    identity.platform,
                    identity.external_id,
                    "send",
                    payload,
                    card.id if card else None,
                    attachment=attachment,
                )


def enqueue(
    ctx: Context,
    platform: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    card_id: int | None = None,
    *,
    attachment: Attachment | None = None,
) -> None:
    """One outbox row; with ``attachment``, the payload names it (``payload["attachment"]``) and
    the row refers to its stored bytes (stored once per transaction however many rows send it)."""
    stored = None
    if attachment is not None:
        stored = attachments.store(ctx, attachment)
        payload = {**payload, "attachment": attachments.reference(attachment)}
    ctx.session.add(
        OutboxMessage(
            platform=platform,
            recipient=recipient,
            kind=kind,
            payload=payload,
            dedupe_key=uuid.uuid4().hex,
            card_id=card_id,
            attachment=stored,
            status=OutboxStatus.PENDING,
            next_attempt_at=ctx.now(),
            created_at=ctx.now(),
        )
    )


async def card_changed(ctx: Context, card: Card) -> None:
    """Queue an edit of every platform copy of ``card`` (the console renders it live anyway).

    The copies are the card's sends in the outbox: a card may have gone to a person's direct chat
    (a notification, a reminder) and to the group they asked in (a reply), several times to one
    chat even; each copy is edited where it is (``of`` names the send), in the language it was
    sent in and as the same kind of message (a reply stays a reply).
    """
    sends = (
        await ctx.session.execute(
            select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.recipient, OutboxMessage.payload)
            .where(
                OutboxMessage.card_id == card.id,
                OutboxMessage.kind == "send",
                OutboxMessage.status != OutboxStatus.DEAD,
            )
            .order_by(OutboxMessage.id)
        )
    ).all()
    for send_id, platform, recipient, sent in sends:
        locale = sent.get("locale")
        _ = Translator(locale or DEFAULT_BY_PLATFORM.get(platform, "en"))
        payload = {"card": render(card, _, ctx.settings.timezone).to_dict(), "locale": locale, "of": send_id}
        if sent.get("reply"):
            payload["reply"] = True
        enqueue(ctx, platform, recipient, "edit", payload, card.id)


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
