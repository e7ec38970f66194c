"""Finding the people a message is for, and putting it on their timelines (in their language).

Who is active, with which roles and chat identities, is read from a process-local copy
(``core.db.stamp``): every delivered event asks who to tell, and people change rarely. The copy is
plain data (``Person``), made again as soon as any transaction, in any process, changes a user or
an identity.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import attachments
from bot.cards import render
from bot.i18n import DEFAULT_BY_PLATFORM, Translator
from bot.models import Card, ChatMessage, Direction
from bot.outbox.models import OutboxMessage, OutboxStatus
from bot.views import Attachment
from core.context import Context
from core.db.bulk_rows import add_in_bulk
from core.db.stamp import Copies
from core.users.models import User

# Platforms that show a person's timeline itself (the console's page reads it): no outbox sender.
SHOWS_TIMELINE = frozenset({"console"})


@dataclass(frozen=True)
class Reach:
    """One chat identity of a person: where their messages go on a platform."""

    platform: str
    external_id: str


@dataclass(frozen=True)
class Person:
    """An active user as the notifier needs them (what ``tell`` reads of a ``User``)."""

    id: int
    name: str
    roles: tuple[str, ...]
    warehouses: tuple[str, ...]
    customer_id: int | None
    locale: str | None
    identities: tuple[Reach, ...]


_PEOPLE = Copies()


async def active_people(session: AsyncSession) -> tuple[Person, ...]:
    """Every active user with their identities, by id (the copy of this database's, if current)."""

    async def load() -> tuple[Person, ...]:
        users = await session.scalars(
            select(User).where(User.active.is_(True)).options(selectinload(User.identities)).order_by(User.id)
        )
        return tuple(
            Person(
                id=u.id,
                name=u.name,
                roles=tuple(u.roles or ()),
                warehouses=tuple(u.warehouses or ()),
                customer_id=u.customer_id,
                locale=u.locale,
                identities=tuple(Reach(i.platform, i.external_id) for i in sorted(u.identities, key=lambda i: i.id)),
            )
            for u in users
        )

    # Per database (a process may serve more than one: the tests, a second ``Services``).
    return await _PEOPLE.get(session, (str(session.sync_session.get_bind().url), "active"), load)


async def users_with_role(ctx: Context, *roles: str) -> list[Person]:
    wanted = set(roles)
    return [p for p in await active_people(ctx.session) if wanted.intersection(p.roles)]


async def users_by_id(ctx: Context, ids: Iterable[int | None]) -> list[Person]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return []
    return [p for p in await active_people(ctx.session) if p.id in wanted]


async def customer_users(ctx: Context, customer_id: int) -> list[Person]:
    return [p for p in await active_people(ctx.session) if p.customer_id == customer_id]


def locale_for(user: User | Person, platform: str) -> str:
    return user.locale or DEFAULT_BY_PLATFORM.get(platform, "en")


def tell(
    ctx: Context,
    users: Iterable[User | Person],
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
            row = ChatMessage(
                user_id=user.id,
                platform=identity.platform,
                direction=Direction.OUT,
                text=text,
                card_id=card.id if card else None,
                attachment=stored,
                created_at=ctx.now(),
            )
            add_in_bulk(ctx.session, row)  # nobody reads it back in this transaction
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
    row = OutboxMessage(
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
    add_in_bulk(ctx.session, row)  # the dispatcher finds it by query; nothing here reads it back


_SENDS_OF_CARD = (  # built once: every card closed or edited asks it
    select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.recipient, OutboxMessage.payload)
    .where(
        OutboxMessage.card_id == bindparam("card_id"),
        OutboxMessage.kind == "send",
        OutboxMessage.status != OutboxStatus.DEAD,
    )
    .order_by(OutboxMessage.id)
)


async def card_changed(ctx: Context, card: Card) -> None:
    """Queue an edit of every platform copy of ``card`` (the console renders it live anyway).

    The copies are the card's sends in the outbox: a card may have gone to a person's direct chat
    (a notification, a reminder) and to the group they asked in (a reply), several times to one
    chat even; each copy is edited where it is (``of`` names the send), in the language it was
    sent in and as the same kind of message (a reply stays a reply).
    """
    sends = (await ctx.session.execute(_SENDS_OF_CARD, {"card_id": card.id})).all()
    for send_id, platform, recipient, sent in sends:
        locale = sent.get("locale")
        _ = Translator(locale or DEFAULT_BY_PLATFORM.get(platform, "en"))
        payload = {"card": render(card, _, ctx.settings.timezone).to_dict(), "locale": locale, "of": send_id}
        if sent.get("reply"):
            payload["reply"] = True
        enqueue(ctx, platform, recipient, "edit", payload, card.id)


async def approvers(ctx: Context, target: dict[str, str]) -> list[Person]:
    """The role's members, or the one named user (a workflow rule's ``approve:``)."""
    if "user" in target:
        return [p for p in await active_people(ctx.session) if p.name == target["user"]]
    return await users_with_role(ctx, target["role"])
